using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Writing;

/// <summary>Converts between the codec options and the manifest's codecs section.</summary>
public static class CodecSections
{
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

    /// <inheritdoc cref="ManifestSections.Differences(ProcessingSection, ProcessingOptions)"/>
    public static IEnumerable<(string Member, string Recorded, string Given)> Differences(
        CodecSection recorded, CodecOptions given) =>
        ManifestSections.Differences(
            System.Text.Json.JsonSerializer.SerializeToNode(recorded, ManifestJsonContext.Default.CodecSection)!.AsObject(),
            System.Text.Json.JsonSerializer.SerializeToNode(ToSection(given), ManifestJsonContext.Default.CodecSection)!.AsObject());

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
