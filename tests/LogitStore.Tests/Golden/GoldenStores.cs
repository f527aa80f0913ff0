using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Golden;

/// <summary>
/// The golden stores beside this file, one directory per format version (MAJOR.MINOR), and the options that wrote them:
/// tools/golden/regenerate.sh passes the same options, defaults included, to <c>logitstore pack</c>. A change to the
/// golden bytes is a format change (GoldenStoreTests).
/// </summary>
internal static class GoldenStores
{
    public const ulong IdentitySeed = 1;

    /// <summary>The version directory the writer of today writes (and must reproduce).</summary>
    public static readonly string CurrentVersion = $"{FormatConstants.MajorVersion}.{FormatConstants.MinorVersion}";

    /// <summary>
    /// 2 sequences of 8 positions of the synthetic teacher (seed 1) over a vocabulary of 50; <c>context-q8</c> has 40
    /// sequences of 16 positions, enough for its id context model to have token contexts (5.10: 32 sample positions).
    /// </summary>
    public static SyntheticSource Source(string name) => name == "context-q8"
        ? new(Tokens: 640, VocabSize: 50, SequenceLength: 16, Seed: 1, Head: 128)
        : new(Tokens: 16, VocabSize: 50, SequenceLength: 8, Seed: 1, Head: 128);

    /// <summary>
    /// Top-p-k 0.95 / 50 at temperature 1 (the CLI also puts the synthetic seed in the sampling seed); <c>context-q8</c>
    /// keeps at most 10 entries, so that some ids are kept only once at a context and are coded as escapes.
    /// </summary>
    public static ProcessingOptions Processing(string name) => new()
    {
        Method = TruncationMethod.TopPK,
        Temperature = 1,
        TopP = 0.95f,
        TopK = name == "context-q8" ? 10 : 50,
        Draws = 50,
        Seed = 1,
    };

    /// <summary>Name of each golden store, and the ids codec it differs in; tokens are packed and values q8 in all.</summary>
    public static readonly IReadOnlyDictionary<string, IdCodecSpec> IdsCodecs = new Dictionary<string, IdCodecSpec>
    {
        ["packed-q8"] = IdCodecSpec.Packed,
        ["ranked-q8"] = IdCodecSpec.Ranked,
        ["context-q8"] = IdCodecSpec.Context,
    };

    public static CodecOptions Codecs(string name) => new()
    {
        Tokens = IdCodecSpec.Packed,
        Ids = IdsCodecs[name],
        Values = ValueCodecSpec.Q8,
        ValueLogRange = 0,
        MvqBeam = 4,
        DictionarySample = 32768,
        ZstdLevel = 3,
        SequencesPerBlock = name == "context-q8" ? 8 : 1,
        ShardTargetBytes = 256L << 20,
    };

    /// <summary>The golden files, copied next to the test assembly.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>Whether a version has the store: a store of a newer codec exists only from the version that added it.</summary>
    public static bool Has(string version, string name) => Directory.Exists(StoreDirectory(version, name));

    /// <summary>Every version directory present (older versions are kept for the reader), as "MAJOR.MINOR".</summary>
    public static IEnumerable<string> Versions =>
        Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(d => d.Split('.') is [var major, var minor] && major.All(char.IsAsciiDigit) && minor.All(char.IsAsciiDigit));

    public static string StoreDirectory(string version, string name) => Path.Combine(Root, version, name);

    /// <summary>What a reader must decode from the store: <c>logitstore dump STORE</c>, numbers in shortest round-trip form.</summary>
    public static string DecodedJson(string version, string name) => StoreDirectory(version, name) + ".json";
}
