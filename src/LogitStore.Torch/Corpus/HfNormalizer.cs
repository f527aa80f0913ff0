using System.Text.Json;
using ADRaffy.ENSNormalize;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// tokenizer.json's <c>normalizer</c> for byte-level BPE: none, or NFC / NFD (alone or in a sequence). The forms come from
/// ENSNormalize's Unicode tables, not string.Normalize, which leaves text unchanged under InvariantGlobalization.
/// </summary>
internal static class HfNormalizer
{
    // No character below U+0300 decomposes or composes with what precedes it.
    private const char FirstAffected = '\u0300';

    /// <summary>The normalizer as a function; null when there is none. A kind not listed above is refused.</summary>
    public static Func<string, string>? Parse(JsonElement element, string file)
    {
        if (element.ValueKind == JsonValueKind.Null) return null;
        var forms = new List<Func<string, string>>();
        Add(element);
        if (forms.Count == 0) return null;
        return s =>
        {
            if (!s.AsSpan().ContainsAnyInRange(FirstAffected, char.MaxValue)) return s;
            foreach (var form in forms) s = form(s);
            return s;
        };

        void Add(JsonElement e)
        {
            string type = e.GetProperty("type").GetString() ?? "";
            switch (type)
            {
                case "Sequence":
                    foreach (var inner in e.GetProperty("normalizers").EnumerateArray()) Add(inner);
                    break;
                case "NFC": forms.Add(ENSNormalize.NF.NFC); break;
                case "NFD": forms.Add(ENSNormalize.NF.NFD); break;
                default: throw new ArgumentException($"{file}: normalizer of type '{type}' is not supported");
            }
        }
    }
}
