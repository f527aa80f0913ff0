using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Writing;

/// <summary>Converts between option records and their manifest sections.</summary>
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

    public static CodecSection ToSection(CodecOptions c) => new()
    {
        Tokens = c.Tokens.Name,
        Ids = c.Ids.Name,
        Values = c.Values.Name,
        ValueLogRange = c.Values.LogRangeOrDefault(c.ValueLogRange),
        ZstdLevel = c.ZstdLevel,
        SequencesPerBlock = c.SequencesPerBlock,
        ShardTargetBytes = c.ShardTargetBytes,
        MvqBeam = c.MvqBeam,
        DictionarySample = c.DictionarySample,
    };

    /// <summary>
    /// The members of <paramref name="recorded"/> that <paramref name="given"/> would write otherwise, with both values as
    /// the manifest writes them.
    /// </summary>
    public static IEnumerable<(string Member, string Recorded, string Given)> Differences(
        ProcessingSection recorded, ProcessingOptions given) =>
        Differences(
            System.Text.Json.JsonSerializer.SerializeToNode(recorded, ManifestJsonContext.Default.ProcessingSection)!.AsObject(),
            System.Text.Json.JsonSerializer.SerializeToNode(ToSection(given), ManifestJsonContext.Default.ProcessingSection)!.AsObject());

    /// <inheritdoc cref="Differences(ProcessingSection, ProcessingOptions)"/>
    public static IEnumerable<(string Member, string Recorded, string Given)> Differences(
        CodecSection recorded, CodecOptions given) =>
        Differences(
            System.Text.Json.JsonSerializer.SerializeToNode(recorded, ManifestJsonContext.Default.CodecSection)!.AsObject(),
            System.Text.Json.JsonSerializer.SerializeToNode(ToSection(given), ManifestJsonContext.Default.CodecSection)!.AsObject());

    private static IEnumerable<(string, string, string)> Differences(
        System.Text.Json.Nodes.JsonObject recorded, System.Text.Json.Nodes.JsonObject given)
    {
        foreach (var (member, value) in given)
        {
            string g = value?.ToJsonString() ?? "null", r = recorded[member]?.ToJsonString() ?? "null";
            if (g != r) yield return (member, r, g);
        }
    }

    /// <summary>The options a store was written with; settings a 1.1 manifest lacks take today's defaults.</summary>
    public static CodecOptions FromSection(CodecSection s) => new()
    {
        MvqBeam = s.MvqBeam > 0 ? s.MvqBeam : MvqValueCodec.DefaultBeam,
        DictionarySample = s.DictionarySample > 0 ? s.DictionarySample : new CodecOptions().DictionarySample,
        Tokens = IdCodecSpec.Parse(s.Tokens),
        Ids = IdCodecSpec.Parse(s.Ids),
        Values = ValueCodecSpec.Parse(s.Values),
        ValueLogRange = s.ValueLogRange,
        ZstdLevel = s.ZstdLevel,
        SequencesPerBlock = s.SequencesPerBlock,
        ShardTargetBytes = s.ShardTargetBytes,
    };
}
