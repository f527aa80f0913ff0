using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>
/// A decoded block in reusable buffers; decoding the next block into the same instance allocates nothing
/// once the buffers have grown. One instance per thread.
/// </summary>
public sealed class DecodedBlock
{
    internal int[] SequenceStart = new int[1];
    internal int[] Tokens = [];
    internal int[] KeptCounts = [];
    internal int[] EntryStart = new int[1];
    internal int[] Ids = [];
    internal float[] Probs = [];
    internal float[] Residual = [];
    internal byte[] Scratch = [];
    internal byte[] Encoded = [];   // the block's bytes as read from its shard

    // One bit per vocabulary id, all clear between positions: finds an id kept twice at one position (spec 4.3).
    internal ulong[] IdSeen = [];

    // Filled instead of Probs when a block is read with BlockValues.MvqCodes (spec 5.9's parts per position).
    internal byte[] MvqCodes = [];
    internal byte[] MvqEscaped = [];
    internal byte[] EscapeCodes = [];
    internal Codecs.Mvq.MvqCodebooks? MvqCodebooks;
    internal ZstdSharp.Decompressor Decompressor { get; } = new();
    internal BlockCodecCache Codecs { get; } = new();

    /// <summary>The reader and global block whose contents the buffers hold (null: none, or a decode failed).</summary>
    internal StoreReader? Source { get; set; }
    internal int SourceBlock { get; set; } = -1;

    public ulong FirstSequence { get; internal set; }
    public int SequenceCount { get; internal set; }
    public int PositionCount { get; internal set; }
    public int EntryCount { get; internal set; }

    /// <summary>
    /// Grows the buffers for blocks of up to these counts and encoded bytes now (the block index has them), so that
    /// decoding them later allocates nothing; the zstd scratch is sized for the widest fixed-width column (4 bytes per
    /// entry or position).
    /// </summary>
    public void Reserve(int sequences, int positions, int entries, int blockBytes = 0)
    {
        Ensure(sequences, positions, entries);
        ScratchOf(4 * Math.Max(positions, entries));
        EncodedOf(blockBytes);
    }

    internal void Ensure(int sequences, int positions, int entries)
    {
        if (SequenceStart.Length < sequences + 1) SequenceStart = new int[sequences + 1];
        if (Tokens.Length < positions)
        {
            Tokens = new int[positions];
            KeptCounts = new int[positions];
            Residual = new float[positions];
            EntryStart = new int[positions + 1];
        }
        if (Ids.Length < entries)
        {
            Ids = new int[entries];
            Probs = new float[entries];
        }
    }

    internal Span<byte> EncodedOf(int length)
    {
        if (Encoded.Length < length) Encoded = new byte[Math.Max(length, 2 * Encoded.Length)];
        return Encoded.AsSpan(0, length);
    }

    internal byte[] ScratchOf(int size) => Scratch.Length >= size ? Scratch : Scratch = new byte[Math.Max(size, 2 * Scratch.Length)];

    /// <summary>The <paramref name="index"/>-th sequence of this block as spans over the buffers.</summary>
    public SequenceView Sequence(int index)
    {
        if ((uint)index >= (uint)SequenceCount) throw new ArgumentOutOfRangeException(nameof(index));
        int p0 = SequenceStart[index], p1 = SequenceStart[index + 1];
        int e0 = EntryStart[p0], e1 = EntryStart[p1];
        return new SequenceView(FirstSequence + (ulong)index,
            Tokens.AsSpan(p0, p1 - p0), KeptCounts.AsSpan(p0, p1 - p0), EntryStart.AsSpan(p0, p1 - p0 + 1),
            Ids.AsSpan(e0, e1 - e0), Probs.AsSpan(e0, e1 - e0), Residual.AsSpan(p0, p1 - p0));
    }
}

/// <summary>
/// The codec instances a thread's blocks were decoded with, by (codec id, parameter, dictionaries): blocks of one
/// store use a handful, so decoding the next block looks them up instead of constructing them.
/// </summary>
internal sealed class BlockCodecCache
{
    private const int MaxEntries = 32;
    private readonly Dictionary<(CodecId, uint, StoreDictionaries?), IIdCodec> _ids = new();
    private readonly Dictionary<(CodecId, uint, StoreDictionaries?), IValueCodec> _values = new();

    public IIdCodec? IdCodec(CodecId id, uint param, StoreDictionaries? dictionaries) =>
        Lookup(_ids, (id, param, dictionaries), static k => CodecTable.OpenIdCodec(k.Item1, k.Item2, k.Item3));

    public IValueCodec? ValueCodec(CodecId id, uint param, StoreDictionaries? dictionaries) =>
        Lookup(_values, (id, param, dictionaries), static k => CodecTable.OpenValueCodec(k.Item1, k.Item2, k.Item3));

    private static T? Lookup<T>(
        Dictionary<(CodecId, uint, StoreDictionaries?), T> cache,
        (CodecId, uint, StoreDictionaries?) key,
        Func<(CodecId, uint, StoreDictionaries?), T?> make)
        where T : class
    {
        if (cache.TryGetValue(key, out var codec)) return codec;
        codec = make(key);
        if (codec is null) return null;
        if (cache.Count >= MaxEntries) cache.Clear(); // a thread that reads many stores: start over rather than grow
        cache[key] = codec;
        return codec;
    }
}

/// <summary>One sequence, as views into a <see cref="DecodedBlock"/>: valid until that block is decoded into again.</summary>
public readonly ref struct SequenceView
{
    private readonly ReadOnlySpan<int> _entryStart;

    internal SequenceView(
        ulong id, ReadOnlySpan<int> tokens, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> entryStart, ReadOnlySpan<int> ids,
        ReadOnlySpan<float> probs, ReadOnlySpan<float> residual)
    {
        Id = id;
        Tokens = tokens;
        KeptCounts = keptCounts;
        _entryStart = entryStart;
        Ids = ids;
        Probs = probs;
        Residual = residual;
    }

    public ulong Id { get; }
    public ReadOnlySpan<int> Tokens { get; }
    public ReadOnlySpan<int> KeptCounts { get; }

    /// <summary>All kept ids of the sequence, position after position.</summary>
    public ReadOnlySpan<int> Ids { get; }

    public ReadOnlySpan<float> Probs { get; }
    public ReadOnlySpan<float> Residual { get; }
    public int Length => Tokens.Length;

    public ReadOnlySpan<int> IdsAt(int position) => Ids.Slice(_entryStart[position] - _entryStart[0], KeptCounts[position]);

    public ReadOnlySpan<float> ProbsAt(int position) => Probs.Slice(_entryStart[position] - _entryStart[0], KeptCounts[position]);

    public SparseSequence ToSparseSequence() =>
        new(Tokens.ToArray(), KeptCounts.ToArray(), Ids.ToArray(), Probs.ToArray(), Residual.ToArray());
}
