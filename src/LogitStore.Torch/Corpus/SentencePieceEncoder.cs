using System.Text;
using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// A SentencePiece tokenizer.model (Llama 2, Mistral, TinyLlama: BPE; others: unigram) read by Microsoft.ML.Tokenizers.
/// Special-token strings (the model's unknown, BOS and EOS pieces, and the added tokens of tokenizer_config.json) are
/// cut out of the text first and each stretch between them encoded on its own, with its own dummy prefix: what Hugging
/// Face's LlamaTokenizer does in its default (legacy) mode and its tokenizer.json counterpart does by prepending ▁ per
/// stretch. Without legacy mode only a stretch that opens the text gets the prefix.
/// </summary>
internal static class SentencePieceModel
{
    /// <summary>
    /// <paramref name="firstStretchOnly"/>: the setting (file and name) that turns legacy mode off, or null; a unigram
    /// model with one is refused.
    /// </summary>
    public static ITextEncoder Load(
        string modelPath, IReadOnlyList<AddedToken> added, string? firstStretchOnly,
        out int vocabSize, out int bosId, out int eosId)
    {
        byte[] bytes = File.ReadAllBytes(modelPath);
        SentencePieceTokenizer model;
        bool bpe = true;
        try
        {
            try { model = LlamaTokenizer.Create(new MemoryStream(bytes), false, false); }
            catch (ArgumentException)
            {
                // Only BPE models pass LlamaTokenizer; SentencePieceTokenizer reads unigram ones too.
                bpe = false;
                model = SentencePieceTokenizer.Create(new MemoryStream(bytes), false, false);
            }
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new ArgumentException($"{modelPath}: not a SentencePiece model this tokenizer reads ({e.Message})", e);
        }
        var specials = new List<AddedToken>(added);
        foreach (var (piece, id) in new[]
                 {
                     (model.UnknownToken, model.UnknownId), (model.BeginningOfSentenceToken, model.BeginningOfSentenceId),
                     (model.EndOfSentenceToken, model.EndOfSentenceId),
                 })
            if (id >= 0 && !string.IsNullOrEmpty(piece)) specials.Add(new AddedToken(piece, id));
        vocabSize = TextTokenizer.VocabSizeOf(model.Vocabulary.Values, specials);
        bosId = model.BeginningOfSentenceId;
        eosId = model.EndOfSentenceId;
        var normalizer = model.Normalizer!;
        if (!bpe)
        {
            if (firstStretchOnly is not null)
                throw new ArgumentException(
                    $"{firstStretchOnly} (dummy prefix on the first stretch only) is not supported with a unigram {modelPath}");
            return new SentencePieceUnigramEncoder(model, new AddedTokens(specials));
        }

        var controls = specials.Select(s => s.Content).ToHashSet();
        var vocab = model.Vocabulary;
        var merges = SentencePieceBpeEncoder.MergesOf(vocab, p => !controls.Contains(p) && !IsBytePiece(p));
        string Normalize(string s) => normalizer.Normalize(s);
        // The normaliser adds the dummy prefix to every stretch; a stretch after a token drops it again.
        string WithoutPrefix(string s) => Normalize(s) is var n && n.StartsWith('▁') ? n[1..] : n;
        Func<string, string>? afterToken = firstStretchOnly is not null && model.AddDummyPrefix ? WithoutPrefix : null;
        return new SentencePieceBpeEncoder(
            vocab, merges, model.UnknownToken, model.ByteFallback, Normalize, specials, afterToken);
    }

    private static bool IsBytePiece(string p) => p.Length == 6 && p.StartsWith("<0x", StringComparison.Ordinal) && p[5] == '>';
}

/// <summary>
/// A unigram tokenizer.model, encoded by the library. Its byte fallback emits wrong ids (its vocabulary leaves the
/// &lt;0x..&gt; pieces out and counts from the wrong place), so a token that does not spell the text it covers is
/// replaced by the UTF-8 bytes of that text, as &lt;0x..&gt; pieces: SentencePiece keeps them as the 256 ids it left out.
/// Where two segmentations score the same up to float rounding (a run of one character cut as _ __ or __ _), the
/// library and SentencePiece may keep different ones.
/// </summary>
internal sealed class SentencePieceUnigramEncoder : ITextEncoder
{
    private readonly SentencePieceTokenizer _model;
    private readonly AddedTokens _specials;
    private readonly int[]? _byteIds;

    public SentencePieceUnigramEncoder(SentencePieceTokenizer model, AddedTokens specials)
    {
        _model = model;
        _specials = specials;
        if (model.ByteFallback)
        {
            var known = model.Vocabulary.Values.ToHashSet();
            known.UnionWith([model.UnknownId, model.BeginningOfSentenceId, model.EndOfSentenceId]);
            var missing = Enumerable.Range(0, known.Max() + 257).Where(id => !known.Contains(id)).Take(256).ToArray();
            if (missing.Length == 256 && missing[255] - missing[0] == 255) _byteIds = missing;
        }
    }

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        _specials.Split(text, part => EncodeStretch(part, ids), ids.Add);
        return ids;
    }

    private void EncodeStretch(string text, List<int> ids)
    {
        var tokens = _model.EncodeToTokens(text, out string? normalized, addBeginningOfSentence: false, addEndOfSentence: false);
        normalized ??= text;
        Range? spelt = null;
        foreach (var token in tokens)
        {
            var (offset, length) = token.Offset.GetOffsetAndLength(normalized.Length);
            string covered = normalized.Substring(offset, length);
            if (_byteIds is null || token.Value == covered || token.Id == _model.UnknownId)
            {
                ids.Add(token.Id);
                continue;
            }
            // One character's bytes come as several tokens over the same text: spell it once.
            if (spelt is Range r && r.Equals(token.Offset)) continue;
            spelt = token.Offset;
            foreach (byte b in Encoding.UTF8.GetBytes(covered)) ids.Add(_byteIds[b]);
        }
    }

    public string Decode(IEnumerable<int> ids) => _model.Decode(ids);
}
