using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LogitStore.Torch.Corpus;
using Xunit.Abstractions;

namespace LogitStore.Tests.Torch.Corpus;

/// <summary>
/// <see cref="TextTokenizer.ForCheckpoint"/> against encoders this project did not write: real Llama 3 and Qwen3
/// tokenizer.json files under transformers.js, and SentencePiece models trained and run by Google's sentencepiece.
/// </summary>
public class CheckpointTokenizerTests(ITestOutputHelper output)
{
    private const int Llama3BeginOfText = 128_000, Llama3EndOfText = 128_001, QwenEndOfText = 151_643;

    [Theory]
    [InlineData("llama3", 1)]
    [InlineData("qwen3", 2)]
    public void ByteLevelBpe_MatchesTransformersJs_IdForId(string name, int seed)
    {
        string dir = Path.Combine(TokenizerReference.TokenizersDirectory, name);
        var texts = TokenizerTexts.Generate(seed, 300);
        var reference = TokenizerReference.Node(dir, texts);
        var tok = TextTokenizer.ForCheckpoint(dir);
        Assert.Equal("hf-bpe", tok.Name);
        AssertSameIds(texts, reference.Select(r => r.Plain).ToList(), tok.Encode);
        int compared = reference.Sum(r => r.Plain.Length);
        output.WriteLine($"{name}: {compared} tokens of {texts.Count} texts equal");
        // Byte-level BPE loses nothing but what the normalizer changes (Qwen: NFC).
        string plain = "naïve 東京 🙂\t\n  x = 1234567;";
        Assert.Equal(plain, tok.Decode(tok.Encode(plain)));
        Assert.True(compared >= 10_000, $"{compared} tokens compared");
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    public void SupplementaryCharacters_SplitByCodePoint_AsTransformersJs(string name)
    {
        // \p{L} and \p{N} over code points: CJK Extension B, mathematical letters and digits, Gothic, emoji before letters.
        string dir = Path.Combine(TokenizerReference.TokenizersDirectory, name);
        List<string> texts =
        [
            "中𠀀文", "a𝔘,", "x𝟘𝟙2", "𐍈𐌰", "🙂the", " 𝔘𝔫'𝔦 𝟗𝟖𝟕𝟔", "a\u0301𝔘𝔘\n\n𝟘", "𠀀𠀁,𠀂 𝔘s's", "𝔘\r\n  𝔘",
        ];
        var reference = TokenizerReference.Node(dir, texts);
        AssertSameIds(texts, reference.Select(r => r.Plain).ToList(), TextTokenizer.ForCheckpoint(dir).Encode);
    }

    [Fact]
    public void Llama3_Document_IsBeginOfText_Text_EndOfText()
    {
        // Meta's tokenizer.json adds <|begin_of_text|> through a TemplateProcessing post-processor; the packaged copy
        // keeps only the ByteLevel one, so the test puts Meta's back and checks both against transformers.js.
        string dir = TokenizerReference.CopyOf("llama3");
        var texts = TokenizerTexts.Generate(3, 40);
        var plain = TextTokenizer.ForCheckpoint(dir);
        var withoutTemplate = TokenizerReference.Node(dir, texts);
        Assert.Null(plain.BeginningOfDocument);
        Assert.Equal(withoutTemplate[0].Plain.Append(Llama3EndOfText), plain.EncodeDocument(texts[0]));

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!;
        json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
               "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]}
            """);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        var tok = TextTokenizer.ForCheckpoint(dir);
        var reference = TokenizerReference.Node(dir, texts);
        Assert.Equal(Llama3BeginOfText, tok.BeginningOfDocument);
        Assert.Equal(Llama3EndOfText, tok.EndOfText);
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.Equal(Llama3BeginOfText, reference[i].Special[0]);
            Assert.Equal(reference[i].Special.Append(Llama3EndOfText), tok.EncodeDocument(texts[i]));
        }

        // Writers may leave out a member that is null (transformers.js may not).
        json.AsObject().Remove("normalizer");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        Assert.Equal(tok.EncodeDocument(texts[0]), TextTokenizer.ForCheckpoint(dir).EncodeDocument(texts[0]));
    }

    [Fact]
    public void Qwen3_Document_HasNoBos_AndEndsWithEndOfText()
    {
        // The packaged config is a chat one (eos_token <|im_end|>); documents are still packed with <|endoftext|>.
        string dir = Path.Combine(TokenizerReference.TokenizersDirectory, "qwen3");
        var texts = TokenizerTexts.Generate(4, 20);
        var reference = TokenizerReference.Node(dir, texts);
        var tok = TextTokenizer.ForCheckpoint(dir);
        Assert.Null(tok.BeginningOfDocument);
        Assert.Equal(QwenEndOfText, tok.EndOfText);
        for (int i = 0; i < texts.Count; i++)
            Assert.Equal(reference[i].Special.Append(QwenEndOfText), tok.EncodeDocument(texts[i]));
        Assert.Equal(151_669, tok.VocabSize);
    }

    /// <summary>
    /// The llama2 package's tokenizer.json (SentencePiece-style BPE with byte fallback; its ids are Mistral 7B's) without a
    /// tokenizer.model.
    /// </summary>
    [Fact]
    public void Llama2TokenizerJson_MatchesTransformersJs_AndFramesDocumentsWithSAndEndS()
    {
        string dir = Path.Combine(TokenizerReference.TokenizersDirectory, "llama2");
        var texts = TokenizerTexts.Generate(7, 200);
        var reference = TokenizerReference.Node(dir, texts);
        var tok = TextTokenizer.ForCheckpoint(dir);
        AssertSameIds(texts, reference.Select(r => r.Plain).ToList(), tok.Encode);
        int compared = reference.Sum(r => r.Plain.Length);
        output.WriteLine($"llama2 tokenizer.json: {compared} tokens of {texts.Count} texts equal");
        Assert.True(compared >= 10_000, $"{compared} tokens compared");
        Assert.Equal(1, tok.BeginningOfDocument);
        Assert.Equal(2, tok.EndOfText);
        for (int i = 0; i < 20; i++) Assert.Equal(reference[i].Special.Append(2), tok.EncodeDocument(texts[i]));
    }

    [Fact]
    public void UnsupportedTokenizerJson_IsRefusedNamingTheFileAndKind()
    {
        string dir = TokenizerReference.CopyOf("llama2");
        string path = Path.Combine(dir, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["pre_tokenizer"] = JsonNode.Parse("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}""");
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<ArgumentException>(() => TextTokenizer.ForCheckpoint(dir));
        Assert.StartsWith($"{path}: a SentencePiece-style tokenizer.json (model BPE)", e.Message);

        json = JsonNode.Parse(File.ReadAllText(Path.Combine(TokenizerReference.TokenizersDirectory, "qwen3", "tokenizer.json")))!;
        json["model"]!["type"] = "WordPiece";
        File.WriteAllText(path, json.ToJsonString());
        e = Assert.Throws<ArgumentException>(() => TextTokenizer.ForCheckpoint(dir));
        Assert.Equal($"{path}: model of type 'WordPiece' is not supported (byte-level BPE only)", e.Message);
    }

    [Theory]
    [InlineData("bpe")]
    [InlineData("unigram")]
    public void SentencePiece_MatchesSentencePiece_IdForId(string modelType)
    {
        string training = string.Join('\n', TokenizerTexts.Generate(5, 400, specials: false));
        var texts = TokenizerTexts.Generate(6, 200, specials: false);
        // Unigram: a run of one repeated character has segmentations that tie up to float rounding ("___" as _ __ or
        // __ _), which the library and SentencePiece break differently (SentencePieceUnigramEncoder); runs are cut to two.
        if (modelType == "unigram") texts = texts.Select(t => Regex.Replace(t, @"(.)\1\1+", "$1$1")).ToList();
        var (dir, reference, _) = TokenizerReference.SentencePiece(modelType, training, texts);
        var tok = TextTokenizer.ForCheckpoint(dir);
        Assert.Equal("sentencepiece", tok.Name);
        AssertSameIds(texts, reference, tok.Encode);
        int compared = reference.Sum(r => r.Length);
        output.WriteLine($"sentencepiece {modelType}: {compared} tokens of {texts.Count} texts equal");
        Assert.True(compared >= 10_000, $"{compared} tokens compared");

        // <s> ... </s> per document; control-token strings in text are those tokens, each stretch around them
        // encoded on its own (sentencepiece itself would spell them out).
        Assert.Equal(1, tok.BeginningOfDocument);
        Assert.Equal(2, tok.EndOfText);
        Assert.Equal(new[] { 1 }.Concat(reference[0]).Append(2), tok.EncodeDocument(texts[0]));
        Assert.Equal(
            reference[0].Append(2).Concat(reference[1]),
            tok.Encode(texts[0] + "</s>" + texts[1]));
    }

    [Fact]
    public void SentencePiece_WithoutLegacyMode_PrefixesOnlyTheFirstStretch_AsTransformers()
    {
        string training = string.Join('\n', TokenizerTexts.Generate(5, 400, specials: false));
        var texts = TokenizerTexts.Generate(8, 60, specials: false);
        var (dir, reference, afterToken) = TokenizerReference.SentencePiece("bpe", training, texts);
        string config = Path.Combine(dir, "tokenizer_config.json"), json = Path.Combine(dir, "tokenizer.json");
        // Mistral v0.3 says it both ways: legacy false in tokenizer_config.json, prepend_scheme first in tokenizer.json.
        foreach (var (file, content) in new[]
                 {
                     (config, """{"legacy": false}"""),
                     (json, """
                         {"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": [],
                          "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}}
                         """),
                 })
        {
            File.WriteAllText(file, content);
            var tok = TextTokenizer.ForCheckpoint(dir);
            int compared = 0;
            for (int i = 0; i + 1 < texts.Count; i++)
            {
                Assert.Equal(reference[i].Append(2).Concat(afterToken[i + 1]), tok.Encode(texts[i] + "</s>" + texts[i + 1]));
                Assert.Equal(afterToken[i].Prepend(2), tok.Encode("</s>" + texts[i]));
                compared += reference[i].Length + afterToken[i + 1].Length;
            }
            output.WriteLine($"{Path.GetFileName(file)}: {compared} tokens equal");
            File.Delete(file);
        }
        Assert.NotEqual(afterToken[1].Prepend(2), TextTokenizer.ForCheckpoint(dir).Encode("</s>" + texts[1]));

        var (unigram, _, _) = TokenizerReference.SentencePiece("unigram", training, texts.Take(1).ToList());
        File.WriteAllText(Path.Combine(unigram, "tokenizer_config.json"), """{"legacy": false}""");
        var e = Assert.Throws<ArgumentException>(() => TextTokenizer.ForCheckpoint(unigram));
        Assert.StartsWith($"{Path.Combine(unigram, "tokenizer_config.json")}: legacy false", e.Message);
    }

    [Fact]
    public void AddBosToken_WithABosTokenOutsideTheVocabulary_IsRefusedNamingTokenAndFile()
    {
        string dir = TokenizerReference.CopyOf("qwen3");
        string config = Path.Combine(dir, "tokenizer_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["add_bos_token"] = true;
        json["bos_token"] = "<|no_such_token|>";
        File.WriteAllText(config, json.ToJsonString());
        var e = Assert.Throws<ArgumentException>(() => TextTokenizer.ForCheckpoint(dir));
        Assert.Equal($"{config}: add_bos_token is true but bos_token <|no_such_token|> is not in the vocabulary", e.Message);
    }

    [Fact]
    public void VocabHash_CoversTheEndOfText_WhenConfigJsonDecidesIt()
    {
        // The llama2 files without eos_token: config.json's eos_token_id decides the end of a document.
        string dir = TokenizerReference.CopyOf("llama2");
        string config = Path.Combine(dir, "tokenizer_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json.AsObject().Remove("eos_token");
        File.WriteAllText(config, json.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"eos_token_id": 2}""");
        var two = TextTokenizer.ForCheckpoint(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"eos_token_id": [13, 2]}""");
        var thirteen = TextTokenizer.ForCheckpoint(dir);
        Assert.Equal((2, 13), (two.EndOfText, thirteen.EndOfText));
        Assert.NotEqual(two.VocabHash(), thirteen.VocabHash());
        Assert.Equal(SpecHash(dir, 1, 13, "tokenizer.json", "tokenizer_config.json"), thirteen.VocabHash());
    }

    [Fact]
    public void VocabHash_IsStableAcrossLoads_AndChangesWithAnyTokenizerFile()
    {
        string dir = TokenizerReference.CopyOf("qwen3");
        string hash = TextTokenizer.ForCheckpoint(dir).VocabHash();
        Assert.Equal(hash, TextTokenizer.ForCheckpoint(dir).VocabHash());
        Assert.Equal(SpecHash(dir, null, QwenEndOfText, "tokenizer.json", "tokenizer_config.json"), hash);

        // Files outside the identity do not count.
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"vocab_size": 151936}""");
        File.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), "{}");
        Assert.Equal(hash, TextTokenizer.ForCheckpoint(dir).VocabHash());

        var seen = new HashSet<string> { hash };
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            string path = Path.Combine(dir, file);
            byte[] original = File.ReadAllBytes(path);
            // One byte changed inside a string, still valid JSON; then one byte appended.
            int at = Array.IndexOf(original, (byte)'<');
            byte[] changed = (byte[])original.Clone();
            changed[at + 2] ^= 0x20;
            foreach (var bytes in new[] { changed, [.. original, (byte)'\n'] })
            {
                File.WriteAllBytes(path, bytes);
                Assert.True(seen.Add(TextTokenizer.ForCheckpoint(dir).VocabHash()), $"{file}: the hash did not change");
            }
            File.WriteAllBytes(path, original);
        }
        Assert.Equal(hash, TextTokenizer.ForCheckpoint(dir).VocabHash());
    }

    [Fact]
    public void ProjectCheckpoint_WithoutTokenizerFiles_IsCl100k_WithTodaysHashAndJoin()
    {
        string dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"vocab_size": 50000, "logitstore_full_vocab_size": 100277}""");
        var tok = TextTokenizer.ForCheckpoint(dir);
        var cl100k = TextTokenizer.Create();
        Assert.Equal("cl100k_base", tok.Name);
        Assert.Equal(cl100k.VocabHash(), tok.VocabHash());
        Assert.Equal(Cl100kVocabHash, tok.VocabHash());
        Assert.Null(tok.BeginningOfDocument);
        Assert.Equal(cl100k.Encode("The jury<|endoftext|>").Append(100_257), tok.EncodeDocument("The jury<|endoftext|>"));

        File.WriteAllText(Path.Combine(dir, "config.json"), """{"vocab_size": 100277, "logitstore_full_vocab_size": 50000}""");
        var e = Assert.Throws<ArgumentException>(() => TextTokenizer.ForCheckpoint(dir));
        Assert.Equal($"{dir}: no tokenizer.json or tokenizer.model", e.Message);
    }

    // cl100k_base's vocabulary hash as stores have recorded it since the format's first version.
    private const string Cl100kVocabHash = "5716a59778cae04d";

    /// <summary>
    /// format-spec 2.0.1, recomputed here: per file, u32 LE name length, name, u64 LE content length, content; then the
    /// frame "document-framing" holding BOS (−1: none) and EOS as i32 LE.
    /// </summary>
    private static string SpecHash(string dir, int? bos, int eos, params string[] files)
    {
        var framed = new List<byte>();
        var framing = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(framing, bos ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(framing.AsSpan(4), eos);
        foreach (var (f, content) in files.Select(f => (f, File.ReadAllBytes(Path.Combine(dir, f)))).Append(("document-framing", framing)))
        {
            byte[] name = Encoding.UTF8.GetBytes(f);
            var n = new byte[4];
            var c = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)name.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(c, (ulong)content.Length);
            framed.AddRange(n);
            framed.AddRange(name);
            framed.AddRange(c);
            framed.AddRange(content);
        }
        return XxHash3.HashToUInt64(framed.ToArray()).ToString("x16");
    }

    private static void AssertSameIds(List<string> texts, IReadOnlyList<int[]> expected, Func<string, IReadOnlyList<int>> encode)
    {
        for (int i = 0; i < texts.Count; i++)
        {
            var actual = encode(texts[i]);
            if (actual.SequenceEqual(expected[i])) continue;
            int at = 0;
            while (at < Math.Min(actual.Count, expected[i].Length) && actual[at] == expected[i][at]) at++;
            Assert.Fail(
                $"text {i} differs at token {at}: expected [{string.Join(' ', expected[i].Skip(at).Take(8))}], " +
                $"got [{string.Join(' ', actual.Skip(at).Take(8))}]; text: {System.Text.Json.JsonSerializer.Serialize(texts[i])}");
        }
    }
}
