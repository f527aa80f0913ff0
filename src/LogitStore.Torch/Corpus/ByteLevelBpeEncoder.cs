using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// A tokenizer.json byte-level BPE (GPT-2, Llama 3, Qwen2/2.5/3, SmolLM2) in Hugging Face's order: added tokens that are
/// not normalised are cut out of the raw text, the rest normalised, normalised added tokens cut out, pre-tokenised, and
/// each piece merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>. The pre-tokenizer runs here, not in the
/// library, so that tokenizer.json's own regexes apply and so that <c>ignore_merges</c> (Llama 3: a piece that is a
/// whole vocabulary entry is that entry, merges or not) can be honoured, which BpeOptions has no setting for.
/// </summary>
internal sealed class ByteLevelBpeEncoder : ITextEncoder
{
    private static readonly char[] ByteToChar = ByteLevelAlphabet();

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int>? _wholePieces;
    private readonly AddedTokens _rawTokens;
    private readonly AddedTokens _normalizedTokens;
    private readonly Func<string, string>? _normalize;
    private readonly HfPreTokenizer _preTokenizer;

    private ByteLevelBpeEncoder(
        BpeTokenizer bpe, Dictionary<string, int>? wholePieces, AddedTokens rawTokens, AddedTokens normalizedTokens,
        Func<string, string>? normalize, HfPreTokenizer preTokenizer)
    {
        _bpe = bpe;
        _wholePieces = wholePieces;
        _rawTokens = rawTokens;
        _normalizedTokens = normalizedTokens;
        _normalize = normalize;
        _preTokenizer = preTokenizer;
    }

    /// <summary>
    /// Builds the encoder from tokenizer.json's root; <paramref name="vocabSize"/> is
    /// <see cref="TextTokenizer.VocabSizeOf"/> its vocabulary and added tokens. Throws ArgumentException naming
    /// <paramref name="file"/> for what it does not support.
    /// </summary>
    public static ByteLevelBpeEncoder Create(
        JsonElement root, HfPreTokenizer preTokenizer, IReadOnlyList<AddedToken> added, string file, out int vocabSize)
    {
        var model = root.GetProperty("model");
        if (Flag(model, "byte_fallback")) throw new ArgumentException($"{file}: byte-level BPE with byte_fallback is not supported");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new ArgumentException($"{file}: BPE dropout is not supported");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(affix, out var a) && a.ValueKind == JsonValueKind.String && a.GetString()!.Length > 0)
                throw new ArgumentException($"{file}: byte-level BPE with a {affix} is not supported");

        var (vocab, merges) = BpeModel.Read(model);
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            // Only so that Decode knows them: Encode never hands the library text that holds an added token.
            SpecialTokens = added.Where(t => !vocab.ContainsKey(t.Content)).ToDictionary(t => t.Content, t => t.Id),
        });
        vocabSize = TextTokenizer.VocabSizeOf(vocab.Values, added);
        var normalize = HfNormalizer.Parse(root.Optional("normalizer"), file);
        return new ByteLevelBpeEncoder(
            bpe, Flag(model, "ignore_merges") ? vocab : null,
            new AddedTokens(added.Where(t => !t.Normalized)),
            new AddedTokens(added.Where(t => t.Normalized).Select(t => t with { Content = normalize?.Invoke(t.Content) ?? t.Content })),
            normalize, preTokenizer);
    }

    private static bool Flag(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        _rawTokens.Split(text, part => EncodeNormalizing(part, ids), ids.Add);
        return ids;
    }

    private void EncodeNormalizing(string part, List<int> ids)
    {
        string normalized = _normalize?.Invoke(part) ?? part;
        _normalizedTokens.Split(normalized, p => EncodePieces(p, ids), ids.Add);
    }

    private void EncodePieces(string text, List<int> ids)
    {
        foreach (var piece in _preTokenizer.Split(text))
        {
            if (_wholePieces is not null && _wholePieces.TryGetValue(ByteLevelForm(piece), out int whole))
            {
                ids.Add(whole);
                continue;
            }
            ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids);

    /// <summary>The piece's UTF-8 bytes spelt in GPT-2's byte alphabet, as byte-level vocabularies store them.</summary>
    private static string ByteLevelForm(string piece)
    {
        int n = Encoding.UTF8.GetByteCount(piece);
        Span<byte> bytes = n <= 256 ? stackalloc byte[n] : new byte[n];
        Encoding.UTF8.GetBytes(piece, bytes);
        return string.Create(n, bytes.ToArray(), static (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++) chars[i] = ByteToChar[b[i]];
        });
    }

    /// <summary>
    /// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 map to U+0100 onwards in
    /// byte order.
    /// </summary>
    private static char[] ByteLevelAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
