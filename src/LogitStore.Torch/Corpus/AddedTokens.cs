using System.Text.RegularExpressions;

namespace LogitStore.Torch.Corpus;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c> (or a SentencePiece control piece).</summary>
internal sealed record AddedToken(
    string Content, int Id, bool Normalized = false, bool LeftStrip = false, bool RightStrip = false, bool Special = true);

/// <summary>
/// Finds added tokens in text the way Hugging Face's tokenizers do: leftmost match, the longest token at that place,
/// <c>lstrip</c>/<c>rstrip</c> taking the whitespace beside a token into it.
/// </summary>
internal sealed class AddedTokens
{
    private readonly Regex? _pattern;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public AddedTokens(IEnumerable<AddedToken> tokens)
    {
        var alternatives = new List<string>();
        // Longest first: .NET takes the first alternative that matches at the leftmost position.
        foreach (var t in tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length))
        {
            if (!_ids.TryAdd(t.Content, t.Id)) continue;
            string core = $"(?<t>{Regex.Escape(t.Content)})";
            alternatives.Add((t.LeftStrip ? @"\s*" : "") + core + (t.RightStrip ? @"\s*" : ""));
        }
        if (alternatives.Count > 0)
            _pattern = new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    public bool IsEmpty => _pattern is null;

    /// <summary>
    /// Calls <paramref name="text"/> for each stretch between tokens (never empty) and <paramref name="token"/> for each
    /// token's id, in order.
    /// </summary>
    public void Split(string text, Action<string> textPart, Action<int> token)
    {
        if (_pattern is null)
        {
            if (text.Length > 0) textPart(text);
            return;
        }
        int at = 0;
        for (var m = _pattern.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Index > at) textPart(text[at..m.Index]);
            token(_ids[m.Groups["t"].Value]);
            at = m.Index + m.Length;
        }
        if (at < text.Length) textPart(text[at..]);
    }
}
