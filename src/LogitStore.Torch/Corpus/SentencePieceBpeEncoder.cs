using System.Text;
using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// SentencePiece's BPE (Llama 2, Mistral, TinyLlama) as Hugging Face runs it: the text's spaces spelt ▁ (with the
/// model's dummy prefix), merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> over the model's pieces, and a
/// character outside the vocabulary spelt as its UTF-8 bytes (&lt;0x..&gt; pieces) when the model has byte fallback.
/// The library's own SentencePiece BPE breaks ties between equal pairs at the rightmost place ("FFF" → F FF) where
/// SentencePiece takes the leftmost; BpeTokenizer's merge order takes the leftmost, as both reference encoders do.
/// A stretch of text after a special token is normalised by <c>normalizeAfterToken</c> when given (no dummy prefix).
/// </summary>
internal sealed class SentencePieceBpeEncoder : ITextEncoder
{
    private readonly BpeTokenizer _bpe;
    private readonly Func<string, string> _normalize;
    private readonly Func<string, string> _normalizeAfterToken;
    private readonly int _unknownId;
    private readonly int[]? _byteIds;
    private readonly AddedTokens _specials;

    public SentencePieceBpeEncoder(
        IReadOnlyDictionary<string, int> vocab, IEnumerable<string> merges, string unknownToken, bool byteFallback,
        Func<string, string> normalize, IReadOnlyList<AddedToken> specials, Func<string, string>? normalizeAfterToken = null)
    {
        _bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            UnknownToken = unknownToken,
            // Each unknown character keeps its own token, so that byte fallback can spell it.
            FuseUnknownTokens = false,
        });
        _normalize = normalize;
        _normalizeAfterToken = normalizeAfterToken ?? normalize;
        _unknownId = vocab[unknownToken];
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (int b = 0; b < 256; b++)
                _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
            if (_byteIds.Any(id => id < 0)) _byteIds = null;
        }
        _specials = new AddedTokens(specials);
    }

    /// <summary>
    /// Merges as Hugging Face derives them from a SentencePiece model: every split of a piece into two pieces, the pieces
    /// in order of score (for SentencePiece BPE, of id), the splits of one piece by the ids of their halves.
    /// </summary>
    public static List<string> MergesOf(IReadOnlyDictionary<string, int> vocab, Func<string, bool> mergeable)
    {
        var merges = new List<string>();
        foreach (var (piece, _) in vocab.Where(p => mergeable(p.Key)).OrderBy(p => p.Value))
        {
            var splits = new List<(int Left, int Right, string Merge)>();
            for (int k = 1; k < piece.Length; k++)
            {
                if (char.IsLowSurrogate(piece[k])) continue;
                if (vocab.TryGetValue(piece[..k], out int left) && vocab.TryGetValue(piece[k..], out int right)
                    && mergeable(piece[..k]) && mergeable(piece[k..]))
                    splits.Add((left, right, $"{piece[..k]} {piece[k..]}"));
            }
            merges.AddRange(splits.OrderBy(s => s.Left).ThenBy(s => s.Right).Select(s => s.Merge));
        }
        return merges;
    }

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        bool opensText = true;
        _specials.Split(
            text,
            part =>
            {
                EncodeStretch(opensText ? _normalize(part) : _normalizeAfterToken(part), ids);
                opensText = false;
            },
            id =>
            {
                ids.Add(id);
                opensText = false;
            });
        return ids;
    }

    private void EncodeStretch(string normalized, List<int> ids)
    {
        if (normalized.Length == 0) return;
        var tokens = _bpe.EncodeToTokens(normalized, out _, considerPreTokenization: false, considerNormalization: false);
        foreach (var token in tokens)
        {
            if (token.Id != _unknownId || _byteIds is null)
            {
                ids.Add(token.Id);
                continue;
            }
            var (offset, length) = token.Offset.GetOffsetAndLength(normalized.Length);
            foreach (byte b in Encoding.UTF8.GetBytes(normalized.Substring(offset, length))) ids.Add(_byteIds[b]);
        }
    }

    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids);
}
