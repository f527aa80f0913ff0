using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LogitStore.Format;

/// <summary>The store's commit record, <c>manifest.json</c> (spec section 2).</summary>
public sealed class Manifest
{
    public const string StatusComplete = "complete";
    public const string StatusPartial = "partial";

    public string Format { get; set; } = "logitstore";
    public FormatVersion FormatVersion { get; set; } = new();
    public string StoreId { get; set; } = "";
    public string Status { get; set; } = StatusPartial;
    public uint VocabSize { get; set; }
    public TokenizerInfo Tokenizer { get; set; } = new();
    public JsonObject Teacher { get; set; } = new();
    public ProcessingSection Processing { get; set; } = new();
    public CodecSection Codecs { get; set; } = new();
    public JsonObject Source { get; set; } = new();
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PartitionInfo? Partition { get; set; }

    /// <summary>What the content is made from (spec 2.9); absent before 1.4.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FingerprintSection? Fingerprint { get; set; }
    public List<DictionaryEntry> Dictionaries { get; set; } = new();
    public List<ShardEntry> Shards { get; set; } = new();
    public Totals Totals { get; set; } = new();

    /// <summary>
    /// XXH3-64 of the manifest file with these 16 digits read as '0' (spec 2.7); the last member. Absent before 1.2.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ManifestXxh3 { get; set; }

    [JsonIgnore] public bool IsComplete => Status == StatusComplete;

    /// <summary>First global sequence id this store (or part) covers.</summary>
    [JsonIgnore] public ulong FirstSequence => Partition?.FirstSequence ?? 0;

    /// <summary>One past the last committed sequence id.</summary>
    [JsonIgnore] public ulong EndSequence => Shards.Count == 0 ? FirstSequence : Shards[^1].FirstSequence + Shards[^1].Sequences;

    /// <summary>
    /// The manifest's JSON settings (the newline fixed so that every platform writes the same bytes), for reports that
    /// print in the same style; the manifest itself goes through the source-generated <see cref="ManifestJsonContext"/>.
    /// </summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NewLine = "\n",
    };

    public void RecomputeTotals()
    {
        Totals = new Totals
        {
            Sequences = (ulong)Shards.Sum(s => (decimal)s.Sequences),
            Positions = (ulong)Shards.Sum(s => (decimal)s.Positions),
            Entries = (ulong)Shards.Sum(s => (decimal)s.Entries),
            Bytes = (ulong)Shards.Sum(s => (decimal)s.Bytes),
        };
    }

    /// <summary>The manifest file's bytes, its checksum (spec 2.7) filled in.</summary>
    public byte[] ToUtf8()
    {
        ManifestXxh3 = new string('0', 16);
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(this, ManifestJsonContext.Default.Manifest);
        int at = (int)new ManifestLocator(bytes).ValueOf(ChecksumMember) + 1;
        ManifestXxh3 = Checksum.ToHex(Checksum.Of(bytes));
        Encoding.ASCII.GetBytes(ManifestXxh3, bytes.AsSpan(at, 16));
        return bytes;
    }

    private const string ChecksumMember = "manifest_xxh3";

    /// <summary>
    /// Checks the manifest's checksum over its bytes (spec 2.7): whenever the member is there, and a manifest of 1.2 or
    /// later must have it, so that no change to any byte of a committed manifest passes unseen.
    /// </summary>
    private void CheckChecksum(string path, byte[] bytes, ManifestLocator at)
    {
        long value = at.ValueOf(ChecksumMember);
        if (ManifestXxh3 is null)
        {
            if (FormatVersion is { Major: 1, Minor: >= 2 } or { Major: > 1 })
                throw new StoreCorruptException(
                    path, value < 0 ? 0 : value,
                    $"a {FormatVersion.Major}.{FormatVersion.Minor} manifest must end with '{ChecksumMember}'");
            return;
        }
        // The digits are the 16 bytes after the opening quote, as they are: an escaped digit would not be hashed as zero.
        if (bytes.Length < value + 18 || bytes[value] != (byte)'"' || bytes[value + 17] != (byte)'"'
            || bytes.AsSpan((int)value + 1, 16).ContainsAnyExcept("0123456789abcdef"u8)
            || ManifestXxh3 != Encoding.ASCII.GetString(bytes, (int)value + 1, 16))
            throw new StoreCorruptException(path, value, $"'{ChecksumMember}' must be 16 lowercase hex digits");
        var zeroed = (byte[])bytes.Clone();
        zeroed.AsSpan((int)value + 1, 16).Fill((byte)'0');
        string computed = Checksum.ToHex(Checksum.Of(zeroed));
        if (computed != ManifestXxh3)
            throw new StoreCorruptException(
                path, value,
                $"manifest checksum mismatch (stored {ManifestXxh3}, computed {computed}): the manifest changed after its commit");
    }

    public static Manifest Load(string storeDirectory)
    {
        string path = new StoreDirectory(storeDirectory).ManifestPath;
        // Not a store at all is a wrong path (bad input), not a damaged store.
        if (!Directory.Exists(storeDirectory))
            throw new DirectoryNotFoundException(
                File.Exists(storeDirectory) ? $"{storeDirectory} is a file, not a store directory" : $"{storeDirectory} does not exist");
        if (!File.Exists(path))
            throw new StoreCorruptException(path, 0, "no manifest: not a store, or a pack that never committed");
        byte[] bytes = File.ReadAllBytes(path);
        if (ManifestSchema.FirstInvalidUtf8(bytes) is var bad and >= 0)
            throw new StoreCorruptException(path, bad, $"manifest is not valid UTF-8 (byte 0x{bytes[bad]:x2})");
        var at = new ManifestLocator(bytes);
        if (at.WellFormed) ManifestSchema.Check(path, bytes, at);
        Manifest? m;
        try
        {
            m = JsonSerializer.Deserialize(bytes, ManifestJsonContext.Default.Manifest);
        }
        catch (JsonException ex)
        {
            throw new StoreCorruptException(
                path, ByteOffset(bytes, ex.LineNumber, ex.BytePositionInLine), $"manifest is not valid JSON: {ex.Message}");
        }
        if (m is null) throw new StoreCorruptException(path, 0, "manifest is empty");
        m.Validate(path, bytes, at);
        return m;
    }

    /// <summary>Members every manifest has (older stores may lack <c>dictionaries</c>; <c>partition</c> is optional).</summary>
    private static readonly string[] RequiredMembers =
        ["format", "format_version", "store_id", "status", "vocab_size", "tokenizer", "teacher", "processing", "codecs", "source",
         "shards", "totals"];

    private void Validate(string path, byte[] bytes, ManifestLocator at)
    {
        foreach (var member in RequiredMembers)
            if (at.Of(member) == 0) throw new StoreCorruptException(path, 0, $"manifest has no '{member}' member");
        // A JSON null deserialises to a null reference whatever the property's type says.
        object?[] sections = [Format, FormatVersion, StoreId, Status, Tokenizer, Teacher, Processing, Codecs, Source, Shards, Totals];
        string[] names = ["format", "format_version", "store_id", "status", "tokenizer", "teacher", "processing", "codecs", "source",
            "shards", "totals"];
        for (int i = 0; i < sections.Length; i++)
            if (sections[i] is null) throw new StoreCorruptException(path, at.Of(names[i]), $"'{names[i]}' is null");
        if (Format != "logitstore") throw new StoreCorruptException(path, at.Of("format"), $"format is '{Format}', expected 'logitstore'");
        if (FormatVersion.Major != FormatConstants.MajorVersion)
            throw new StoreCorruptException(path, at.Of("format_version"),
                $"unsupported format major version {FormatVersion.Major} (this reader knows {FormatConstants.MajorVersion})");
        CheckChecksum(path, bytes, at); // after the version: another major may checksum otherwise
        if (Status is not (StatusComplete or StatusPartial))
            throw new StoreCorruptException(path, at.Of("status"), $"unknown status '{Status}'");
        if (VocabSize < 2) throw new StoreCorruptException(path, at.Of("vocab_size"), $"vocab_size {VocabSize} is below 2");
        if (Tokenizer.Name is null || Tokenizer.VocabHash is null)
            throw new StoreCorruptException(path, at.Of("tokenizer"), "tokenizer.name and tokenizer.vocab_hash must be strings");
        // Absent, they would read as the type's defaults and name a processing the writer never ran (spec 2.1).
        foreach (string member in (string[])["method", "temperature"])
            if (at.At($"processing/{member}") is null)
                throw new StoreCorruptException(path, at.Of("processing"), $"processing has no '{member}' member");
        if (Codecs.Tokens is null || Codecs.Ids is null || Codecs.Values is null
            || Codecs.IdsDictionary is null || Codecs.ValuesDictionary is null)
            throw new StoreCorruptException(path, at.Of("codecs"), "codecs.tokens, ids, values and their dictionaries must be strings");
        if (Codecs.SequencesPerBlock < 1)
            throw new StoreCorruptException(path, at.Of("codecs"), "codecs.sequences_per_block must be >= 1");
        CheckFingerprint(path, at);
        Dictionaries ??= new();
        var refs = new HashSet<string>();
        var files = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Dictionaries.Count; i++)
        {
            var d = Dictionaries[i];
            long offset = at.Of("dictionaries", i);
            if (d is null) throw new StoreCorruptException(path, offset, $"dictionary {i} is null");
            if (FileProblem(d.File, FormatConstants.DictionaryDirectory, files) is { } badFile)
                throw new StoreCorruptException(path, at.Of($"dictionaries/{i}/file"), $"dictionary {i}: {badFile}");
            if (d.Kind is null || d.Ref is null || d.Xxh3 is null)
                throw new StoreCorruptException(path, offset, $"dictionary {i}: kind, ref and xxh3 must be strings");
            if (!refs.Add(d.Ref)) throw new StoreCorruptException(path, offset, $"two dictionaries share the ref '{d.Ref}'");
        }
        ulong next = FirstSequence;
        for (int i = 0; i < Shards.Count; i++)
        {
            var s = Shards[i];
            long offset = at.Of("shards", i);
            if (s is null) throw new StoreCorruptException(path, offset, $"shard {i} is null");
            if (FileProblem(s.File, FormatConstants.ShardDirectory, files) is { } badFile)
                throw new StoreCorruptException(path, at.Of($"shards/{i}/file"), $"shard {i}: {badFile}");
            if (s.PackId is null || s.Xxh3 is null)
                throw new StoreCorruptException(path, offset, $"shard {i} ({s.File}): pack_id and xxh3 must be strings");
            if (s.FirstSequence != next)
                throw new StoreCorruptException(
                    path, offset, $"shard {i} ({s.File}) starts at sequence {s.FirstSequence}, expected {next}: shards must be contiguous");
            next += s.Sequences;
        }
        var listed = Totals;
        RecomputeTotals();
        if (listed.Sequences != Totals.Sequences || listed.Positions != Totals.Positions || listed.Entries != Totals.Entries
            || listed.Bytes != Totals.Bytes)
            throw new StoreCorruptException(path, at.Of("totals"),
                $"totals ({listed.Sequences} sequences, {listed.Positions} positions, {listed.Entries} entries, {listed.Bytes} bytes) " +
                $"differ from the sums over the shards ({Totals.Sequences}, {Totals.Positions}, {Totals.Entries}, {Totals.Bytes})");
    }

    /// <summary>
    /// Why a listed <c>file</c> is not one the store can own (spec 2.3, 2.4): exactly <c>folder/name</c>, inside the store
    /// directory, a name no other entry uses; null when it is.
    /// </summary>
    private static string? FileProblem(string file, string folder, HashSet<string> seen)
    {
        string name = file.StartsWith(folder + "/", StringComparison.Ordinal) ? file[(folder.Length + 1)..] : "";
        if (name is "" or "." or ".." || name.AsSpan().IndexOfAny(['/', '\\', ':', '\0']) >= 0)
            return $"file '{file}' is not '{folder}/NAME' (one name, no '/', '\\', ':' or NUL, not '.' or '..')";
        return seen.Add(file) ? null : $"file '{file}' is listed twice";
    }

    /// <summary>
    /// A 1.4 manifest must carry its fingerprint (spec 2.9), and every component but <c>corpus</c> must be the one its own
    /// members give.
    /// </summary>
    private void CheckFingerprint(string path, ManifestLocator at)
    {
        const string member = "fingerprint";
        if (Fingerprint is null)
        {
            if (FormatVersion is { Major: 1, Minor: >= 4 } or { Major: > 1 })
                throw new StoreCorruptException(
                    path, 0, $"a {FormatVersion.Major}.{FormatVersion.Minor} manifest must have '{member}'");
            return;
        }
        if (Fingerprint.ToFingerprint() is not { } recorded)
            throw new StoreCorruptException(
                path, at.Of(member), $"'{member}' must hold six members of 16 lowercase hex digits, 'content' combining the others");
        var computed = StoreFingerprint.Of(this, recorded.Corpus);
        if (computed.DifferingComponents(recorded) is [var first, ..] differing)
            throw new StoreCorruptException(
                path, at.Of(member),
                $"fingerprint {string.Join(", ", differing)} differ from the manifest's own members (the first, '{first}', " +
                $"is computed as {Checksum.ToHex(computed.Components[Array.IndexOf(StoreFingerprint.ComponentNames, first)])})");
    }

    private static long ByteOffset(byte[] bytes, long? line, long? byteInLine)
    {
        long l = line ?? 0, offset = 0;
        for (int i = 0; i < bytes.Length && l > 0; i++)
            if (bytes[i] == (byte)'\n') { l--; offset = i + 1; }
        return offset + (byteInLine ?? 0);
    }

    public static string NewId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    internal static string Hex(Guid g) => Convert.ToHexStringLower(g.ToByteArray(bigEndian: true));

    internal static Guid ParseId(string hex) => new(Convert.FromHexString(hex), bigEndian: true);

    public override string ToString() => Encoding.UTF8.GetString(ToUtf8());
}

public sealed class FormatVersion
{
    public int Major { get; set; } = FormatConstants.MajorVersion;
    public int Minor { get; set; } = FormatConstants.MinorVersion;
}

public sealed class TokenizerInfo
{
    public string Name { get; set; } = "";
    public string VocabHash { get; set; } = "";
}

public sealed class ProcessingSection
{
    public string Method { get; set; } = "top-p-k";
    public float Temperature { get; set; } = 1;
    public float TopP { get; set; }
    public int TopK { get; set; }
    public int Draws { get; set; }
    public ulong Seed { get; set; }
}

public sealed class CodecSection
{
    public string Tokens { get; set; } = "";
    public string Ids { get; set; } = "";
    public string Values { get; set; } = "";
    public double ValueLogRange { get; set; }
    public string IdsDictionary { get; set; } = "";
    public string ValuesDictionary { get; set; } = "";
    public int ZstdLevel { get; set; }
    public int SequencesPerBlock { get; set; }
    public long ShardTargetBytes { get; set; }

    /// <summary>Beam width of the mvq encoder (spec 2.2; 0: absent, before 1.2).</summary>
    public int MvqBeam { get; set; }

    /// <summary>Positions the writer trains its dictionaries on (spec 2.2; 0: absent, before 1.2).</summary>
    public int DictionarySample { get; set; }
}

public sealed class PartitionInfo
{
    public int Index { get; set; }
    public int Count { get; set; }
    public ulong FirstSequence { get; set; }
    public ulong SequenceCount { get; set; }
}

public sealed class ShardEntry
{
    public string File { get; set; } = "";
    public string PackId { get; set; } = "";
    public ulong FirstSequence { get; set; }
    public ulong Sequences { get; set; }
    public ulong Positions { get; set; }
    public ulong Entries { get; set; }
    public uint Blocks { get; set; }
    public ulong Bytes { get; set; }
    public string Xxh3 { get; set; } = "";
}

public sealed class DictionaryEntry
{
    public string File { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Ref { get; set; } = "";
    public ulong Bytes { get; set; }
    public string Xxh3 { get; set; } = "";
}

public sealed class Totals
{
    public ulong Sequences { get; set; }
    public ulong Positions { get; set; }
    public ulong Entries { get; set; }
    public ulong Bytes { get; set; }
}
