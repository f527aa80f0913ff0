using System.Globalization;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Golden;

/// <summary>
/// One golden store of the current version and the <c>logitstore pack</c> options that write it, as
/// <c>Golden/stores.txt</c> lists them: that file is what tools/golden/regenerate.sh passes to the command line, and
/// this type turns the same options into the writer's settings (the pack command's mapping, which the writer test
/// checks: a setting mapped otherwise writes other bytes).
/// </summary>
internal sealed record GoldenStore(string Name, IReadOnlyDictionary<string, string> Options)
{
    /// <summary>Every option a golden store's line gives, defaults included; <c>--synthetic</c> takes no value.</summary>
    private static readonly string[] Written =
    [
        "--synthetic", "--tokens", "--seq-len", "--vocab", "--seed",
        "--method", "--temperature", "--top-p", "--top-k", "--draws",
        "--tokens-codec", "--ids", "--values",
        "--seqs-per-block", "--zstd-level", "--shard-mib", "--dictionary-sample", "--value-range", "--beam",
        "--id-seed",
    ];

    private string this[string option] => Options[option];

    private static CultureInfo Invariant => CultureInfo.InvariantCulture;

    /// <summary>The synthetic teacher's data: the pack command's source for <c>--synthetic</c>.</summary>
    public SyntheticSource Source => new(
        ulong.Parse(this["--tokens"], Invariant),
        uint.Parse(this["--vocab"], Invariant),
        int.Parse(this["--seq-len"], Invariant),
        ulong.Parse(this["--seed"], Invariant));

    /// <summary>The truncation; as the pack command does, the synthetic seed is also the sampling seed.</summary>
    public ProcessingOptions Processing => new()
    {
        Method = ProcessingOptions.ParseMethod(this["--method"]),
        Temperature = float.Parse(this["--temperature"], Invariant),
        TopP = float.Parse(this["--top-p"], Invariant),
        TopK = int.Parse(this["--top-k"], Invariant),
        Draws = int.Parse(this["--draws"], Invariant),
        Seed = ulong.Parse(this["--seed"], Invariant),
    };

    public CodecOptions Codecs => new()
    {
        Tokens = IdCodecSpec.Parse(this["--tokens-codec"]),
        Ids = IdCodecSpec.Parse(this["--ids"]),
        Values = ValueCodecSpec.Parse(this["--values"]),
        ValueLogRange = double.Parse(this["--value-range"], Invariant),
        MvqBeam = int.Parse(this["--beam"], Invariant),
        DictionarySample = int.Parse(this["--dictionary-sample"], Invariant),
        ZstdLevel = int.Parse(this["--zstd-level"], Invariant),
        SequencesPerBlock = int.Parse(this["--seqs-per-block"], Invariant),
        ShardTargetBytes = long.Parse(this["--shard-mib"], Invariant) << 20,
    };

    public ulong IdentitySeed => ulong.Parse(this["--id-seed"], Invariant);

    /// <summary>
    /// Reads stores.txt: a line naming a store, then its options on the indented lines below it; blank lines and lines
    /// starting with '#' between them. Every option of <see cref="Written"/> must be given, and no other.
    /// </summary>
    public static IReadOnlyList<GoldenStore> Parse(string path)
    {
        var stores = new List<(string Name, List<string> Words)>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (char.IsWhiteSpace(line[0]))
                (stores.Count > 0 ? stores[^1].Words : throw new FormatException($"{path}: options before a store's name"))
                    .AddRange(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            else stores.Add((line.Trim(), []));
        }
        return [.. stores.Select(s => new GoldenStore(s.Name, OptionsOf(s.Words, $"{path}: {s.Name}")))];
    }

    private static Dictionary<string, string> OptionsOf(List<string> words, string where)
    {
        var options = new Dictionary<string, string>();
        for (int i = 0; i < words.Count; i++)
        {
            string option = words[i];
            if (!Written.Contains(option)) throw new FormatException($"{where}: '{option}' is not an option the writer test maps");
            bool flag = option == "--synthetic";
            if (!flag && i + 1 == words.Count) throw new FormatException($"{where}: {option} has no value");
            if (!options.TryAdd(option, flag ? "" : words[++i])) throw new FormatException($"{where}: {option} is given twice");
        }
        if (Written.FirstOrDefault(o => !options.ContainsKey(o)) is { } missing)
            throw new FormatException($"{where}: {missing} is missing (every option is written out, defaults included)");
        return options;
    }
}

/// <summary>
/// The golden stores beside this file, one directory per format version (MAJOR.MINOR), and the options that wrote the
/// current version's (stores.txt). A change to the golden bytes is a format change (GoldenStoreTests).
/// </summary>
internal static class GoldenStores
{
    /// <summary>The version directory the writer of today writes (and must reproduce).</summary>
    public static readonly string CurrentVersion = $"{FormatConstants.MajorVersion}.{FormatConstants.MinorVersion}";

    /// <summary>The golden files, copied next to the test assembly.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>The current version's stores with their options, in the order stores.txt lists them.</summary>
    public static IReadOnlyList<GoldenStore> Current => s_current.Value;

    private static readonly Lazy<IReadOnlyList<GoldenStore>> s_current = new(() => GoldenStore.Parse(Path.Combine(Root, "stores.txt")));

    public static GoldenStore Named(string name) => Current.Single(s => s.Name == name);

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
