using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// A tokenizer.json regex that matches code points, as Hugging Face's (Rust) and transformers.js' (the u flag) do, where
/// .NET matches UTF-16 units and <c>\p{L}</c> never takes a surrogate pair. Each one-character atom (a class,
/// <c>\p{..}</c>, <c>\w</c>, <c>\d</c>, <c>\s</c>, their negations, <c>.</c>) is rewritten to take a pair whole when its
/// code point (category by <see cref="CharUnicodeInfo.GetUnicodeCategory(int)"/>) is in the atom, and never half of
/// one; no match starts inside a pair. Text without surrogates runs the pattern as written.
/// </summary>
internal sealed class CodePointRegex
{
    private const string Pair = @"[\uD800-\uDBFF][\uDC00-\uDFFF]";
    private const string NotInsidePair = @"(?<![\uD800-\uDBFF](?=[\uDC00-\uDFFF]))";
    private const string CategoryNames = "LuLlLtLmLoMnMcMeNdNlNoZsZlZpCcCfCsCoPcPdPsPePiPfPoSmScSkSoCn";
    private const int AllCategories = (1 << 30) - 1;
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.Compiled;

    private static readonly ConcurrentDictionary<int, string> AstralByMask = new();

    private readonly Regex _utf16;
    private readonly Regex _codePoints;

    /// <summary>Throws ArgumentException (the .NET parser's, or one naming the construct) for what it cannot rewrite.</summary>
    public CodePointRegex(string pattern)
    {
        _utf16 = new Regex(pattern, Options);
        _codePoints = new Regex(Rewrite(pattern), Options);
    }

    /// <summary>The regex to run over <paramref name="text"/>.</summary>
    public Regex For(string text) =>
        text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? _utf16 : _codePoints;

    /// <summary>The pattern with every one-character atom made to take whole code points.</summary>
    public static string Rewrite(string pattern)
    {
        var rewritten = new StringBuilder(NotInsidePair).Append("(?:");
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                int length = EscapeLength(pattern, i);
                string escape = pattern.Substring(i, length);
                rewritten.Append(EscapeMask(escape) is int mask ? Atom(escape, mask) : escape);
                i += length;
            }
            else if (c == '[')
            {
                int end = ClassEnd(pattern, i, out int mask);
                rewritten.Append(Atom(pattern[i..end], mask));
                i = end;
            }
            else if (c == '.')
            {
                rewritten.Append(Atom(".", AllCategories));
                i++;
            }
            else if (pattern.AsSpan(i).StartsWith("(?#"))
            {
                int end = pattern.IndexOf(')', i);
                i = end < 0 ? pattern.Length : end + 1;
            }
            else
            {
                rewritten.Append(c);
                i++;
            }
        }
        return rewritten.Append(')').ToString();
    }

    /// <summary>The atom for BMP characters (never a pair's first half), or a pair whose category is in the mask.</summary>
    private static string Atom(string atom, int astralMask)
    {
        string astral = astralMask == 0 ? "" : "|" + AstralByMask.GetOrAdd(astralMask, AstralAlternatives);
        return $"(?:(?!{Pair}){atom}{astral})";
    }

    /// <summary>The end (exclusive) of the class opening at <paramref name="start"/>; the categories of code points it holds.</summary>
    private static int ClassEnd(string pattern, int start, out int astralMask)
    {
        int j = start + 1;
        bool negated = j < pattern.Length && pattern[j] == '^';
        if (negated) j++;
        if (j < pattern.Length && pattern[j] == ']') j++;
        int mask = 0;
        while (j < pattern.Length && pattern[j] != ']')
        {
            char c = pattern[j];
            if (c == '\\')
            {
                int length = EscapeLength(pattern, j);
                mask |= EscapeMask(pattern.Substring(j, length)) ?? 0;
                j += length;
                continue;
            }
            if (c == '-' && j + 1 < pattern.Length && pattern[j + 1] == '[')
                throw new ArgumentException($"a character class subtraction ({pattern[start..]}) is not supported");
            if (char.IsSurrogate(c))
                throw new ArgumentException($"a character class holding a supplementary character ({pattern[start..]}) is not supported");
            j++;
        }
        if (j >= pattern.Length) throw new ArgumentException($"an unterminated character class ({pattern[start..]})");
        astralMask = negated ? AllCategories & ~mask : mask;
        return j + 1;
    }

    private static int EscapeLength(string pattern, int at)
    {
        if (at + 1 >= pattern.Length) return 1;
        if (pattern[at + 1] is 'p' or 'P' && at + 2 < pattern.Length && pattern[at + 2] == '{')
        {
            int close = pattern.IndexOf('}', at);
            return close < 0 ? pattern.Length - at : close - at + 1;
        }
        return 2;
    }

    /// <summary>The categories of supplementary code points an escape matches; null when it is not a character class.</summary>
    private static int? EscapeMask(string escape) => escape switch
    {
        ['\\', 'p', '{', .. var name, '}'] => CategoryMask(name),
        ['\\', 'P', '{', .. var name, '}'] => AllCategories & ~CategoryMask(name),
        @"\w" => CategoryMask("L") | CategoryMask("Mn") | CategoryMask("Mc") | CategoryMask("Nd") | CategoryMask("Pc"),
        @"\W" => AllCategories & ~(CategoryMask("L") | CategoryMask("Mn") | CategoryMask("Mc") | CategoryMask("Nd") | CategoryMask("Pc")),
        @"\d" => CategoryMask("Nd"),
        @"\D" => AllCategories & ~CategoryMask("Nd"),
        // No supplementary code point is white space.
        @"\s" => 0,
        @"\S" => AllCategories,
        _ => null,
    };

    /// <summary>A general category (Lu), a group of them (L), or a named block, all of whose characters .NET keeps in the BMP.</summary>
    private static int CategoryMask(string name)
    {
        int mask = 0;
        for (int k = 0; k < CategoryNames.Length; k += 2)
            if (name.Length == 1 ? CategoryNames[k] == name[0] : CategoryNames.AsSpan(k, 2).SequenceEqual(name))
                mask |= 1 << (k / 2);
        return mask;
    }

    /// <summary>
    /// Alternatives matching each surrogate pair whose code point's category is in <paramref name="mask"/>: for each run
    /// of high surrogates that share the same low surrogates, a class of those highs and a class of those lows.
    /// </summary>
    private static string AstralAlternatives(int mask)
    {
        var lowsByHigh = new List<(char High, string Lows)>();
        for (int high = 0xD800; high <= 0xDBFF; high++)
        {
            var lows = new StringBuilder();
            int runStart = -1;
            for (int low = 0xDC00; low <= 0xE000; low++)
            {
                bool inMask = low < 0xE000
                              && (mask >> (int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32((char)high, (char)low)) & 1) != 0;
                if (inMask && runStart < 0) runStart = low;
                if (!inMask && runStart >= 0)
                {
                    lows.Append(Range(runStart, low - 1));
                    runStart = -1;
                }
            }
            if (lows.Length > 0) lowsByHigh.Add(((char)high, lows.ToString()));
        }
        var alternatives = new List<string>();
        for (int k = 0; k < lowsByHigh.Count;)
        {
            int end = k;
            while (end + 1 < lowsByHigh.Count && lowsByHigh[end + 1].High == lowsByHigh[end].High + 1
                                               && lowsByHigh[end + 1].Lows == lowsByHigh[k].Lows)
                end++;
            alternatives.Add($"[{Range(lowsByHigh[k].High, lowsByHigh[end].High)}][{lowsByHigh[k].Lows}]");
            k = end + 1;
        }
        return string.Join('|', alternatives);
    }

    private static string Range(int first, int last) => first == last ? $@"\u{first:X4}" : $@"\u{first:X4}-\u{last:X4}";
}
