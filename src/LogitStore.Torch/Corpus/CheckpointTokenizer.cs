using System.Text.Json;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// Loads the tokenizer that belongs to a checkpoint directory (<see cref="TextTokenizer.ForCheckpoint"/>) and works out
/// how its family frames a document.
/// </summary>
internal static class CheckpointTokenizer
{
    public const string ByteLevelBpeName = "hf-bpe";
    public const string SentencePieceName = "sentencepiece";

    // Chat checkpoints name their end-of-turn token as eos_token (<|im_end|>, <|eot_id|>); pre-training packed documents
    // with the end-of-text token, which these families keep as a special token of their own.
    private static readonly string[] EndOfTextTokens = ["<|endoftext|>", "<|end_of_text|>"];

    public static TextTokenizer Load(string directory)
    {
        if (!Directory.Exists(directory)) throw new ArgumentException($"{directory}: no such checkpoint directory");
        var files = new TokenizerFiles(directory);
        using var config = files.Has(TokenizerFiles.TokenizerConfig) ? ReadJson(files, TokenizerFiles.TokenizerConfig) : null;
        var tokenizerConfig = config?.RootElement;

        if (files.Has(TokenizerFiles.TokenizerJson))
        {
            using var json = ReadJson(files, TokenizerFiles.TokenizerJson);
            string path = files.PathOf(TokenizerFiles.TokenizerJson);
            try
            {
                if (IsSentencePieceStyle(json.RootElement))
                {
                    if (files.Has(TokenizerFiles.TokenizerModel)) return LoadSentencePiece(files, tokenizerConfig, json.RootElement);
                    return LoadSentencePieceBpeJson(files, json.RootElement, path, tokenizerConfig);
                }
                return LoadByteLevelBpe(files, json.RootElement, path, tokenizerConfig);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A member missing or of the wrong JSON type.
                throw new ArgumentException(
                    $"{path} (or {TokenizerFiles.TokenizerConfig}): not a tokenizer file read here ({e.Message})", e);
            }
        }
        if (files.Has(TokenizerFiles.TokenizerModel)) return LoadSentencePiece(files, tokenizerConfig, null);
        if (ModelConfigVocabSize(files) == TextTokenizer.Cl100kVocabSize) return TextTokenizer.Create();
        throw new ArgumentException($"{directory}: no tokenizer.json or tokenizer.model");
    }

    private static TextTokenizer LoadByteLevelBpe(TokenizerFiles files, JsonElement root, string path, JsonElement? config)
    {
        var model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE") throw new ArgumentException($"{path}: model of type '{type}' is not supported (byte-level BPE only)");
        var preTokenizer = HfPreTokenizer.Parse(root.Optional("pre_tokenizer"), path);
        if (!preTokenizer.HasByteLevel)
            throw new ArgumentException($"{path}: a BPE without a ByteLevel pre-tokenizer is not supported (byte-level BPE only)");
        var added = root.GetProperty("added_tokens").EnumerateArray().Select(a => ReadAddedToken(a, path)).ToList();
        var encoder = ByteLevelBpeEncoder.Create(root, preTokenizer, added, path, out int vocabSize);

        var (bos, eos) = DocumentFraming(files, root, added, config, path);
        return TextTokenizer.FromFiles(ByteLevelBpeName, encoder, vocabSize, bos, eos, files);
    }

    /// <summary>
    /// Llama 2's tokenizer.json without its tokenizer.model: a BPE over ▁-spelt text, its normalizer Prepend ▁ and
    /// Replace ' ' by ▁, no pre-tokenizer, byte fallback. Other SentencePiece-style files are refused.
    /// </summary>
    private static TextTokenizer LoadSentencePieceBpeJson(
        TokenizerFiles files, JsonElement root, string path, JsonElement? config)
    {
        var model = root.GetProperty("model");
        string kind = $"a SentencePiece-style tokenizer.json (model {model.GetProperty("type").GetString()})";
        var normalizer = root.Optional("normalizer");
        var steps = normalizer.ValueKind == JsonValueKind.Object && normalizer.GetProperty("type").GetString() == "Sequence"
            ? normalizer.GetProperty("normalizers").EnumerateArray().ToList()
            : [];
        bool llama2 = model.GetProperty("type").GetString() == "BPE"
                      && root.Optional("pre_tokenizer").ValueKind is JsonValueKind.Null or JsonValueKind.Undefined
                      && model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String
                      && steps.Count == 2
                      && steps[0].GetProperty("type").GetString() == "Prepend" && steps[0].GetProperty("prepend").GetString() == "▁"
                      && steps[1].GetProperty("type").GetString() == "Replace"
                      && steps[1].GetProperty("pattern").TryGetProperty("String", out var from) && from.GetString() == " "
                      && steps[1].GetProperty("content").GetString() == "▁";
        if (!llama2)
            throw new ArgumentException($"{path}: {kind} is supported only with its tokenizer.model, or in Llama 2's form");

        var added = root.GetProperty("added_tokens").EnumerateArray().Select(a => ReadAddedToken(a, path)).ToList();
        var (vocab, merges) = BpeModel.Read(model);
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        string unknown = model.GetProperty("unk_token").GetString()!;
        var encoder = new SentencePieceBpeEncoder(
            vocab, merges, unknown, byteFallback, s => s.Length == 0 ? s : "▁" + s.Replace(' ', '▁'), added);
        int vocabSize = TextTokenizer.VocabSizeOf(vocab.Values, added);
        var (bos, eos) = DocumentFraming(files, root, added, config, path);
        return TextTokenizer.FromFiles(ByteLevelBpeName, encoder, vocabSize, bos, eos, files);
    }

    /// <summary>
    /// BOS: tokenizer_config.json's add_bos_token and bos_token, else the post-processor's template. EOS: the family's
    /// end-of-text special token, else eos_token, else config.json's eos_token_id.
    /// </summary>
    private static (int? Bos, int Eos) DocumentFraming(
        TokenizerFiles files, JsonElement root, List<AddedToken> added, JsonElement? config, string path)
    {
        var vocab = root.GetProperty("model").GetProperty("vocab");

        int? IdOf(string token) =>
            added.FirstOrDefault(a => a.Content == token)?.Id ?? (vocab.TryGetProperty(token, out var id) ? id.GetInt32() : null);

        int? bos = AddsBos(config) switch
        {
            true => TokenOf(config, "bos_token") is string b ? IdOf(b) ?? throw BosNotInVocabulary(files, b) : throw NoBos(files),
            false => null,
            null => TemplateBos(root.Optional("post_processor"), path),
        };
        int? eos = EndOfTextTokens
                       .Select(s => added.FirstOrDefault(a => a.Special && a.Content == s)?.Id)
                       .FirstOrDefault(i => i is not null)
                   ?? (TokenOf(config, "eos_token") is string e ? IdOf(e) : null)
                   ?? ModelConfigEos(files);
        return (bos, eos ?? throw NoEndOfText(files));
    }

    /// <summary>
    /// A tokenizer.model, with the added tokens of tokenizer_config.json. Each stretch between special tokens gets the
    /// dummy prefix (Hugging Face's legacy mode) unless <see cref="FirstStretchOnlySetting"/> names a setting that gives
    /// it to the first stretch alone.
    /// </summary>
    private static TextTokenizer LoadSentencePiece(TokenizerFiles files, JsonElement? config, JsonElement? tokenizerJson)
    {
        string path = files.PathOf(TokenizerFiles.TokenizerModel);
        var added = new List<AddedToken>();
        if (config is JsonElement c && c.TryGetProperty("added_tokens_decoder", out var decoder))
            foreach (var entry in decoder.EnumerateObject())
                added.Add(ReadAddedToken(entry.Value, path) with { Id = int.Parse(entry.Name) });
        string? firstStretchOnly = FirstStretchOnlySetting(files, config, tokenizerJson);
        var encoder = SentencePieceModel.Load(
            path, added, firstStretchOnly, out int vocabSize, out int modelBos, out int modelEos);

        int? IdOf(string token)
        {
            var special = added.FirstOrDefault(a => a.Content == token);
            if (special is not null) return special.Id;
            var ids = encoder.Encode(token);
            return ids.Count == 1 ? ids[0] : null;
        }

        bool? addsBos = AddsBos(config);
        int? bos = null;
        if (addsBos ?? true)
        {
            if (TokenOf(config, "bos_token") is string b) bos = IdOf(b) ?? throw BosNotInVocabulary(files, b);
            else if (modelBos >= 0) bos = modelBos;
            else if (addsBos == true) throw NoBos(files);
        }
        int? eos = (TokenOf(config, "eos_token") is string e ? IdOf(e) : null)
                   ?? (modelEos >= 0 ? (int?)modelEos : null)
                   ?? ModelConfigEos(files);
        return TextTokenizer.FromFiles(SentencePieceName, encoder, vocabSize, bos, eos ?? throw NoEndOfText(files), files);
    }

    /// <summary>
    /// The setting, as "file: setting", that gives the dummy prefix to the first stretch of text only (Mistral v0.3):
    /// tokenizer_config.json's <c>legacy: false</c>, or a Metaspace pre-tokenizer with <c>prepend_scheme: "first"</c>.
    /// </summary>
    private static string? FirstStretchOnlySetting(TokenizerFiles files, JsonElement? config, JsonElement? tokenizerJson)
    {
        if (config is JsonElement c && c.TryGetProperty("legacy", out var legacy) && legacy.ValueKind == JsonValueKind.False)
            return $"{files.PathOf(TokenizerFiles.TokenizerConfig)}: legacy false";
        if (tokenizerJson is JsonElement root && PrependsFirstOnly(root.Optional("pre_tokenizer")))
            return $"{files.PathOf(TokenizerFiles.TokenizerJson)}: Metaspace prepend_scheme \"first\"";
        return null;
    }

    private static bool PrependsFirstOnly(JsonElement preTokenizer) => preTokenizer.ValueKind switch
    {
        JsonValueKind.Object when preTokenizer.Optional("type").ValueKind == JsonValueKind.String
                                  && preTokenizer.GetProperty("type").GetString() == "Sequence"
            => preTokenizer.GetProperty("pretokenizers").EnumerateArray().Any(PrependsFirstOnly),
        JsonValueKind.Object => preTokenizer.Optional("type").ValueKind == JsonValueKind.String
                                && preTokenizer.GetProperty("type").GetString() == "Metaspace"
                                && preTokenizer.TryGetProperty("prepend_scheme", out var scheme)
                                && scheme.ValueKind == JsonValueKind.String && scheme.GetString() == "first",
        _ => false,
    };

    private static ArgumentException BosNotInVocabulary(TokenizerFiles files, string token) =>
        new($"{files.PathOf(TokenizerFiles.TokenizerConfig)}: add_bos_token is true but bos_token {token} is not in the vocabulary");

    private static ArgumentException NoBos(TokenizerFiles files) =>
        new($"{files.PathOf(TokenizerFiles.TokenizerConfig)}: add_bos_token is true but no bos_token is named");

    private static ArgumentException NoEndOfText(TokenizerFiles files) =>
        new($"{files.Directory}: no end-of-text token (tokenizer_config.json eos_token, config.json eos_token_id)");

    /// <summary>Metaspace pre-tokenizer or decoder, a ▁-prepending normalizer, byte fallback, or a Unigram model.</summary>
    private static bool IsSentencePieceStyle(JsonElement root)
    {
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var t) && t.GetString() == "Unigram") return true;
        if (model.TryGetProperty("byte_fallback", out var f) && f.ValueKind == JsonValueKind.True) return true;
        return HasType(root.Optional("pre_tokenizer"), "Metaspace")
               || HasType(root.Optional("decoder"), "Metaspace")
               || HasType(root.Optional("normalizer"), "Prepend");
    }

    private static bool HasType(JsonElement e, string type) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().Any(p => p.Name == "type" && p.Value.ValueKind == JsonValueKind.String
                                                            && p.Value.GetString() == type
                                                            || HasType(p.Value, type)),
        JsonValueKind.Array => e.EnumerateArray().Any(x => HasType(x, type)),
        _ => false,
    };

    private static AddedToken ReadAddedToken(JsonElement a, string path)
    {
        if (a.TryGetProperty("single_word", out var single) && single.ValueKind == JsonValueKind.True)
            throw new ArgumentException($"{path}: added token {a.GetProperty("content").GetString()} with single_word is not supported");
        bool Flag(string name) => a.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        int id = a.TryGetProperty("id", out var i) ? i.GetInt32() : -1;
        return new AddedToken(
            a.GetProperty("content").GetString()!, id, Flag("normalized"), Flag("lstrip"), Flag("rstrip"), Flag("special"));
    }

    /// <summary>tokenizer_config.json's add_bos_token; null when it does not say.</summary>
    private static bool? AddsBos(JsonElement? config) =>
        config is JsonElement c && c.TryGetProperty("add_bos_token", out var v)
                                && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    /// <summary>A token named in tokenizer_config.json, written either as a string or as an object with content.</summary>
    private static string? TokenOf(JsonElement? config, string name)
    {
        if (config is not JsonElement c || !c.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var content)) return content.GetString();
        return null;
    }

    /// <summary>The special token a TemplateProcessing post-processor puts before a single sequence (Llama 3's BOS).</summary>
    private static int? TemplateBos(JsonElement processor, string path)
    {
        if (processor.ValueKind != JsonValueKind.Object) return null;
        string type = processor.GetProperty("type").GetString() ?? "";
        if (type == "Sequence")
            return processor.GetProperty("processors").EnumerateArray()
                .Select(p => TemplateBos(p, path))
                .FirstOrDefault(b => b is not null);
        if (type != "TemplateProcessing") return null;
        var leading = processor.GetProperty("single").EnumerateArray()
            .TakeWhile(x => x.TryGetProperty("SpecialToken", out _))
            .ToList();
        if (leading.Count == 0) return null;
        if (leading.Count > 1)
            throw new ArgumentException($"{path}: a template with {leading.Count} leading special tokens is not supported");
        string name = leading[0].GetProperty("SpecialToken").GetProperty("id").GetString()!;
        return processor.GetProperty("special_tokens").GetProperty(name).GetProperty("ids")[0].GetInt32();
    }

    private static JsonDocument ReadJson(TokenizerFiles files, string name)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(files.PathOf(name))); }
        catch (JsonException e) { throw new ArgumentException($"{files.PathOf(name)}: not valid JSON ({e.Message})", e); }
    }

    private static JsonDocument? ReadModelConfig(TokenizerFiles files) =>
        files.Has(TokenizerFiles.ModelConfig) ? ReadJson(files, TokenizerFiles.ModelConfig) : null;

    /// <summary>config.json's logitstore_full_vocab_size, else its vocab_size; null without config.json.</summary>
    private static long? ModelConfigVocabSize(TokenizerFiles files)
    {
        using var config = ReadModelConfig(files);
        if (config is null) return null;
        foreach (var name in new[] { "logitstore_full_vocab_size", "vocab_size" })
            if (config.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number) return v.GetInt64();
        return null;
    }

    /// <summary>config.json's eos_token_id (the first, when it is a list).</summary>
    private static int? ModelConfigEos(TokenizerFiles files)
    {
        using var config = ReadModelConfig(files);
        if (config is null || !config.RootElement.TryGetProperty("eos_token_id", out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number) return v.GetInt32();
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0) return v[0].GetInt32();
        return null;
    }
}

/// <summary>tokenizer.json members that writers may leave out, read as JSON null.</summary>
internal static class JsonMembers
{
    private static readonly JsonElement Null = JsonSerializer.SerializeToElement<object?>(null);

    public static JsonElement Optional(this JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v : Null;
}
