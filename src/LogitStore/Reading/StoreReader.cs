using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>
/// A store opened for reading: the manifest plus every committed shard, open and checked.
/// Immutable after opening, so any number of threads may read at once, each with its own <see cref="DecodedBlock"/>.
/// </summary>
public sealed class StoreReader : IDisposable
{
    private readonly ShardReader?[] _shards;
    private readonly StoreCorruptException?[] _shardFaults;
    private readonly int[] _blockShard;
    private readonly int[] _blockInShard;
    private readonly ulong[] _blockFirstSequence;
    private readonly StoreReaderOptions _options;

    private StoreReader(
        string directory, Manifest manifest, ShardReader?[] shards, StoreCorruptException?[] shardFaults, StoreReaderOptions options,
        Codecs.StoreDictionaries dictionaries)
    {
        Dictionaries = dictionaries;
        Directory = directory;
        Manifest = manifest;
        _shards = shards;
        _shardFaults = shardFaults;
        _options = options;
        int blocks = shards.Select((s, i) => BlocksOf(i)).Sum();
        _blockShard = new int[blocks];
        _blockInShard = new int[blocks];
        _blockFirstSequence = new ulong[blocks];
        int g = 0;
        for (int s = 0; s < shards.Length; s++)
            for (int b = 0; b < BlocksOf(s); b++, g++)
            {
                _blockShard[g] = s;
                _blockInShard[g] = b;
                _blockFirstSequence[g] = BlockEntryOf(s, b).FirstSequence;
            }
    }

    /// <summary>
    /// Opens a store: its manifest, its dictionaries and every committed shard, checked. With
    /// <see cref="StoreReaderOptions.OpenDamaged"/> a damaged shard or dictionary does not stop the opening: only reads of
    /// the blocks that need it fail, naming the damaged file (see <see cref="Damage"/>).
    /// </summary>
    public static StoreReader Open(string directory, StoreReaderOptions? options = null)
    {
        options ??= new StoreReaderOptions();
        var manifest = Manifest.Load(directory);
        var dictionaries = Codecs.StoreDictionaries.LoadIntact(directory, manifest, out var damaged);
        if (damaged.Count > 0 && !options.OpenDamaged) throw damaged[0];
        var shards = new ShardReader?[manifest.Shards.Count];
        var faults = new StoreCorruptException?[shards.Length];
        try
        {
            for (int i = 0; i < shards.Length; i++)
            {
                try
                {
                    shards[i] = ShardReader.Open(directory, manifest.Shards[i], manifest.VocabSize);
                }
                catch (StoreCorruptException ex) when (options.OpenDamaged)
                {
                    faults[i] = ex;
                }
            }
        }
        catch
        {
            foreach (var s in shards) s?.Dispose();
            throw;
        }
        var reader = new StoreReader(directory, manifest, shards, faults, options, dictionaries);
        reader.Damage = [.. damaged, .. faults.OfType<StoreCorruptException>()];
        return reader;
    }

    /// <summary>The damaged dictionaries and shards an <see cref="StoreReaderOptions.OpenDamaged"/> opening found.</summary>
    public IReadOnlyList<StoreCorruptException> Damage { get; private set; } = [];

    /// <summary>True when global block <paramref name="block"/> lies in a damaged shard and cannot be read.</summary>
    public bool IsDamaged(int block) => _shards[_blockShard[block]] is null;

    // A damaged shard's blocks are known from its manifest entry alone: full blocks of sequences_per_block from its
    // first sequence (spec 1), the last one holding the rest.
    private int BlocksOf(int shard) => _shards[shard]?.Index.Count
        ?? (int)Math.Min(Manifest.Shards[shard].Blocks, Manifest.Shards[shard].Sequences);

    private BlockIndexEntry BlockEntryOf(int shard, int block)
    {
        if (_shards[shard] is { } reader) return reader.Index[block];
        var entry = Manifest.Shards[shard];
        ulong spb = (ulong)Manifest.Codecs.SequencesPerBlock, first = entry.FirstSequence + (ulong)block * spb;
        ulong count = block + 1 == BlocksOf(shard) ? entry.FirstSequence + entry.Sequences - first : spb;
        return new BlockIndexEntry(0, 0, (uint)count, first, 0, 0);
    }

    private StoreCorruptException DamageOf(int shard)
    {
        var f = _shardFaults[shard]!;
        return new StoreCorruptException(f.File, f.Offset, f.Problem);
    }

    public string Directory { get; }
    public Manifest Manifest { get; }

    /// <summary>How the store's distributions were truncated, from the manifest.</summary>
    public Processing.ProcessingOptions Processing => ManifestSections.FromSection(Manifest.Processing);

    /// <summary>
    /// The most entries one position of this store can hold, which is the width a dense batch needs: k for top-k and
    /// top-p-k stores, the draws for sampled ones; null for top-p and full stores, whose truncation sets no bound.
    /// </summary>
    public int? MaxEntriesPerPosition => Manifest.Processing is var p && (p.TopK > 0 || p.Draws > 0)
        ? Math.Max(p.TopK, p.Draws) : null;

    /// <summary>The length every sequence of the store has; refused when blocks disagree (the loader needs one length).</summary>
    public int SequenceLength => _sequenceLength ??= UniformSequenceLength();

    private int? _sequenceLength;

    private int UniformSequenceLength()
    {
        if (BlockCount == 0) throw new ArgumentException($"{Directory} holds no blocks");
        int length = -1;
        for (int b = 0; b < BlockCount; b++)
        {
            if (IsDamaged(b)) continue;
            var e = BlockEntry(b);
            if (e.PositionCount % e.SequenceCount != 0 || (length >= 0 && e.PositionCount / e.SequenceCount != length))
                throw new ArgumentException($"{Directory}: sequences differ in length (block {b}); the loader needs one length");
            length = (int)(e.PositionCount / e.SequenceCount);
        }
        return length;
    }

    /// <summary>The codebooks and id rank tables the manifest lists, checked.</summary>
    internal Codecs.StoreDictionaries Dictionaries { get; }

    /// <summary>The mvq codebook sets the store's manifest lists (one, unless merged from parts trained apart).</summary>
    public IReadOnlyList<Codecs.Mvq.MvqCodebooks> Codebooks => [.. Dictionaries.AllCodebooks];
    /// <summary>The shards that opened (all of them unless the store was opened with damage allowed).</summary>
    internal IReadOnlyList<ShardReader> Shards => [.. _shards.OfType<ShardReader>()];
    public uint VocabSize => Manifest.VocabSize;
    public ulong FirstSequence => Manifest.FirstSequence;
    public ulong SequenceCount => Manifest.EndSequence - Manifest.FirstSequence;
    public int BlockCount => _blockShard.Length;

    /// <summary>The block's index entry; for a block of a damaged shard, its sequences only (no offsets or counts).</summary>
    internal BlockIndexEntry BlockEntry(int block) => BlockEntryOf(_blockShard[block], _blockInShard[block]);

    /// <summary>A copy of the encoded bytes of global block <paramref name="block"/> as they are in its shard (spec 4).</summary>
    public byte[] BlockBytes(int block) => ShardOfBlock(block).BlockBytes(_blockInShard[block]);

    internal ShardReader ShardOfBlock(int block) => _shards[_blockShard[block]] ?? throw DamageOf(_blockShard[block]);

    /// <summary>
    /// The global block holding sequence <paramref name="sequence"/>: O(1) when blocks are full, as the writer makes them.
    /// </summary>
    public int BlockOf(ulong sequence)
    {
        if (sequence < FirstSequence || sequence >= Manifest.EndSequence)
            throw new ArgumentOutOfRangeException(
                nameof(sequence), sequence, $"the store holds sequences [{FirstSequence}, {Manifest.EndSequence})");
        ulong guess = (sequence - FirstSequence) / (ulong)Manifest.Codecs.SequencesPerBlock;
        if (guess < (ulong)_blockFirstSequence.Length && Holds((int)guess, sequence)) return (int)guess;
        int i = Array.BinarySearch(_blockFirstSequence, sequence);
        return i >= 0 ? i : ~i - 1;
    }

    private bool Holds(int block, ulong sequence) =>
        _blockFirstSequence[block] <= sequence && (block + 1 == _blockFirstSequence.Length || _blockFirstSequence[block + 1] > sequence);

    /// <summary>
    /// Decodes global block <paramref name="block"/> into <paramref name="dest"/>, which then names this reader and the
    /// block as its contents (a failed decode names nothing, so no cache trusts half-written buffers). With
    /// <see cref="BlockValues.MvqCodes"/> the values stay codes and the block is never taken for a decoded one.
    /// </summary>
    public void ReadBlock(int block, DecodedBlock dest, BlockValues values = BlockValues.Probabilities)
    {
        var shard = ShardOfBlock(block);
        int b = _blockInShard[block];
        dest.Source = null;
        var encoded = dest.EncodedOf((int)shard.Index[b].BlockLength);
        shard.ReadBlock(b, encoded);
        BlockDecoder.Decode(
            encoded, shard.Index[b], VocabSize, shard.Path, dest, _options.VerifyBlockChecksums, Dictionaries, values,
            _options.CheckDistinctIds);
        if (values != BlockValues.Probabilities) return;
        dest.Source = this;
        dest.SourceBlock = block;
    }

    /// <summary>
    /// Random access: decodes the block of <paramref name="sequence"/> into <paramref name="scratch"/> (skipped if it is already
    /// there) and returns a view.
    /// </summary>
    public SequenceView ReadSequence(ulong sequence, DecodedBlock scratch)
    {
        int block = BlockOf(sequence);
        if (scratch.Source != this || scratch.SourceBlock != block) ReadBlock(block, scratch);
        return scratch.Sequence((int)(sequence - scratch.FirstSequence));
    }

    /// <summary>Random access that returns a copy (allocates; use the <see cref="DecodedBlock"/> overload in hot loops).</summary>
    public SparseSequence ReadSequence(ulong sequence) => ReadSequence(sequence, new DecodedBlock()).ToSparseSequence();

    /// <summary>
    /// The global blocks rank <paramref name="rank"/> of <paramref name="worldSize"/> reads, in store order (<see cref="RankSplit"/>).
    /// </summary>
    public IReadOnlyList<int> BlocksForRank(int rank, int worldSize) => [.. new RankSplit(rank, worldSize).PlacesOf(BlockCount)];

    /// <summary>Sequential scan over [firstBlock, endBlock): yields each block decoded into the same scratch, in order.</summary>
    public IEnumerable<DecodedBlock> ScanBlocks(int firstBlock = 0, int endBlock = -1, DecodedBlock? scratch = null)
    {
        if (endBlock < 0) endBlock = BlockCount;
        var dest = scratch ?? new DecodedBlock();
        for (int b = firstBlock; b < endBlock; b++)
        {
            ReadBlock(b, dest);
            yield return dest;
        }
    }

    public void Dispose()
    {
        foreach (var s in _shards) s?.Dispose();
    }
}
