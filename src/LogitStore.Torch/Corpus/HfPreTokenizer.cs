using System.Text.Json;
using System.Text.RegularExpressions;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// tokenizer.json's <c>pre_tokenizer</c> for byte-level BPE: a sequence of steps, each cutting every piece of the step
/// before it into smaller pieces. Supported: <c>Split</c> (a regex or string, behaviour <c>Isolated</c>), <c>Digits</c>,
/// and <c>ByteLevel</c> (GPT-2's regex when <c>use_regex</c>, a leading space when <c>add_prefix_space</c>). Regexes
/// match code points, as Rust's do (<see cref="CodePointRegex"/>).
/// </summary>
internal sealed class HfPreTokenizer
{
    // GPT-2's pattern, which ByteLevel applies when use_regex is true.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly List<Func<string, IEnumerable<string>>> _steps;

    private HfPreTokenizer(List<Func<string, IEnumerable<string>>> steps, bool byteLevel)
    {
        _steps = steps;
        HasByteLevel = byteLevel;
    }

    /// <summary>True when a <c>ByteLevel</c> step is part of it (the vocabulary is then byte-level).</summary>
    public bool HasByteLevel { get; }

    /// <summary>Reads <paramref name="element"/> (null: no pre-tokenizer); a kind not listed above is refused.</summary>
    public static HfPreTokenizer Parse(JsonElement element, string file)
    {
        var steps = new List<Func<string, IEnumerable<string>>>();
        bool byteLevel = false;
        Add(element);
        return new HfPreTokenizer(steps, byteLevel);

        void Add(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Null) return;
            string type = e.GetProperty("type").GetString() ?? "";
            switch (type)
            {
                case "Sequence":
                    foreach (var inner in e.GetProperty("pretokenizers").EnumerateArray()) Add(inner);
                    break;
                case "Split":
                    steps.Add(SplitStep(e, file));
                    break;
                case "Digits":
                    // Rust's char::is_numeric: Nd, Nl and No.
                    bool individual = e.TryGetProperty("individual_digits", out var d) && d.GetBoolean();
                    var digits = new CodePointRegex(individual ? @"\p{N}" : @"\p{N}+");
                    steps.Add(s => Isolated(digits, s));
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (e.TryGetProperty("add_prefix_space", out var p) && p.GetBoolean())
                        steps.Add(s => [s.StartsWith(' ') ? s : " " + s]);
                    if (!e.TryGetProperty("use_regex", out var r) || r.GetBoolean())
                    {
                        var gpt2 = new CodePointRegex(Gpt2Pattern);
                        steps.Add(s => Isolated(gpt2, s));
                    }
                    break;
                default:
                    throw new ArgumentException($"{file}: pre_tokenizer of type '{type}' is not supported");
            }
        }
    }

    private static Func<string, IEnumerable<string>> SplitStep(JsonElement e, string file)
    {
        string behavior = e.GetProperty("behavior").GetString() ?? "";
        bool invert = e.TryGetProperty("invert", out var inv) && inv.GetBoolean();
        if (behavior != "Isolated" || invert)
            throw new ArgumentException($"{file}: pre_tokenizer Split with behavior '{behavior}', invert {invert} is not supported");
        var pattern = e.GetProperty("pattern");
        string regex = pattern.TryGetProperty("Regex", out var r)
            ? r.GetString()!
            : Regex.Escape(pattern.GetProperty("String").GetString()!);
        CodePointRegex compiled;
        try { compiled = new CodePointRegex(regex); }
        catch (ArgumentException bad)
        {
            throw new ArgumentException($"{file}: pre_tokenizer Split regex is not one .NET reads ({bad.Message})", bad);
        }
        return s => Isolated(compiled, s);
    }

    /// <summary>Every match a piece of its own, and every stretch between matches too.</summary>
    private static IEnumerable<string> Isolated(CodePointRegex regex, string s)
    {
        int at = 0;
        for (var m = regex.For(s).Match(s); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > at) yield return s[at..m.Index];
            yield return m.Value;
            at = m.Index + m.Length;
        }
        if (at < s.Length) yield return s[at..];
    }

    /// <summary>The pieces of <paramref name="text"/>, in order; none is empty.</summary>
    public IEnumerable<string> Split(string text)
    {
        IEnumerable<string> pieces = [text];
        foreach (var step in _steps)
        {
            var current = pieces;
            pieces = current.SelectMany(step);
        }
        return pieces.Where(p => p.Length > 0);
    }
}
