using LogitStore.Processing;

namespace LogitStore.Format;

/// <summary>Converts between the processing options and the manifest's processing section.</summary>
public static class ManifestSections
{
    public static ProcessingSection ToSection(ProcessingOptions p) => new()
    {
        Method = ProcessingOptions.MethodName(p.Method),
        Temperature = p.Temperature,
        TopP = p.Method is TruncationMethod.TopP or TruncationMethod.TopPK ? p.TopP : 0,
        TopK = p.Method is TruncationMethod.TopK or TruncationMethod.TopPK ? p.TopK : 0,
        Draws = p.Method == TruncationMethod.Sampled ? p.Draws : 0,
        Seed = p.Method == TruncationMethod.Sampled ? p.Seed : 0,
    };

    public static ProcessingOptions FromSection(ProcessingSection s)
    {
        var defaults = new ProcessingOptions();
        return new ProcessingOptions
        {
            Method = ProcessingOptions.ParseMethod(s.Method),
            Temperature = s.Temperature,
            TopP = s.TopP > 0 ? s.TopP : defaults.TopP,
            TopK = s.TopK > 0 ? s.TopK : defaults.TopK,
            Draws = s.Draws > 0 ? s.Draws : defaults.Draws,
            Seed = s.Seed,
        };
    }

    /// <summary>
    /// The members of <paramref name="recorded"/> that <paramref name="given"/> would write otherwise, with both values as
    /// the manifest writes them.
    /// </summary>
    public static IEnumerable<(string Member, string Recorded, string Given)> Differences(
        ProcessingSection recorded, ProcessingOptions given) =>
        Differences(
            System.Text.Json.JsonSerializer.SerializeToNode(recorded, ManifestJsonContext.Default.ProcessingSection)!.AsObject(),
            System.Text.Json.JsonSerializer.SerializeToNode(ToSection(given), ManifestJsonContext.Default.ProcessingSection)!.AsObject());

    /// <summary>The members whose JSON differs between two serialised sections, in <paramref name="given"/>'s order.</summary>
    public static IEnumerable<(string Member, string Recorded, string Given)> Differences(
        System.Text.Json.Nodes.JsonObject recorded, System.Text.Json.Nodes.JsonObject given)
    {
        foreach (var (member, value) in given)
        {
            string g = value?.ToJsonString() ?? "null", r = recorded[member]?.ToJsonString() ?? "null";
            if (g != r) yield return (member, r, g);
        }
    }
}
