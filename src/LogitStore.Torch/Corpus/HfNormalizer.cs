using System.Text;
using System.Text.Json;

namespace LogitStore.Torch.Corpus;

/// <summary>tokenizer.json's <c>normalizer</c> for byte-level BPE: none, or Unicode normal forms (alone or in a sequence).</summary>
internal static class HfNormalizer
{
    /// <summary>The normalizer as a function; null when there is none. A kind not listed above is refused.</summary>
    public static Func<string, string>? Parse(JsonElement element, string file)
    {
        if (element.ValueKind == JsonValueKind.Null) return null;
        var forms = new List<NormalizationForm>();
        Add(element);
        if (forms.Count == 0) return null;
        return s =>
        {
            foreach (var form in forms) s = s.Normalize(form);
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
                case "NFC": forms.Add(NormalizationForm.FormC); break;
                case "NFD": forms.Add(NormalizationForm.FormD); break;
                case "NFKC": forms.Add(NormalizationForm.FormKC); break;
                case "NFKD": forms.Add(NormalizationForm.FormKD); break;
                default: throw new ArgumentException($"{file}: normalizer of type '{type}' is not supported");
            }
        }
    }
}
