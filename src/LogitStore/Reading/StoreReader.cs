using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>
/// A store opened for reading: the manifest plus every committed shard, memory-mapped and checked.
/// Immutable after opening, so any number of threads may read at once, each with its own <see cref="DecodedBlock"/>.
/// </summary>
public sealed class StoreReader : IDisposable
{
    private readonly ShardReader[] _shards;
    private readonly int[] _blockShard;
    private readonly int[] _blockInShard;
    private readonly ulong[] _blockFirstSequence;
    private readonly StoreReaderOptions _options;

    private StoreReader(
        string directory, Manifest manifest, ShardReader[] shards, StoreReaderOptions options, Codecs.StoreDictionaries dictionaries)
    {
        Dictionaries = dictionaries;
        Directory = directory;
        Manifest = manifest;
        _shards = shards;
        _options = options;
        int blocks = shards.Sum(s => s.Index.Count);
        _blockShard = new int[blocks];
        _blockInShard = new int[blocks];
        _blockFirstSequence = new ulong[blocks];
        int g = 0;
        for (int s = 0; s < shards.Length; s++)
            for (int b = 0; b < shards[s].Index.Count; b++, g++)
            {
                _blockShard[g] = s;
                _blockInShard[g] = b;
                _blockFirstSequence[g] = shards[s].Index[b].FirstSequence;
            }
    }

    public static StoreReader Open(string directory, StoreReaderOptions? options = null)
    {
        var manifest = Manifest.Load(directory);
        var dictionaries = Codecs.StoreDictionaries.Load(directory, manifest);
        var shards = new List<ShardReader>();
        try
        {
            foreach (var entry in manifest.Shards) shards.Add(ShardReader.Open(directory, entry, manifest.VocabSize));
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
        return new StoreReader(directory, manifest, shards.ToArray(), options ?? new StoreReaderOptions(), dictionaries);
    }

    public string Directory { get; }
    public Manifest Manifest { get; }

    /// <summary>How the store's distributions were truncated, from the manifest.</summary>
    public Processing.ProcessingOptions Processing => Writing.ManifestSections.FromSection(Manifest.Processing);

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
            var e = BlockEntry(b);
            if (e.PositionCount % e.SequenceCount != 0 || (length >= 0 && e.PositionCount / e.SequenceCount != length))
                throw new ArgumentException($"{Directory}: sequences differ in length (block {b}); the loader needs one length");
            length = (int)(e.PositionCount / e.SequenceCount);
        }
        return length;
    }

    /// <summary>The codebooks and id rank tables the manifest lists, checked.</summary>
    public Codecs.StoreDictionaries Dictionaries { get; }
    public IReadOnlyList<ShardReader> Shards => _shards;
    public uint VocabSize => Manifest.VocabSize;
    public ulong FirstSequence => Manifest.FirstSequence;
    public ulong SequenceCount => Manifest.EndSequence - Manifest.FirstSequence;
    public int BlockCount => _blockShard.Length;

    public BlockIndexEntry BlockEntry(int block) => _shards[_blockShard[block]].Index[_blockInShard[block]];

    public ShardReader ShardOfBlock(int block) => _shards[_blockShard[block]];

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
    /// block as its contents (a failed decode names nothing, so no cache trusts half-written buffers).
    /// </summary>
    public void ReadBlock(int block, DecodedBlock dest)
    {
        var shard = _shards[_blockShard[block]];
        int b = _blockInShard[block];
        dest.Source = null;
        BlockDecoder.Decode(shard.BlockBytes(b), shard.Index[b], VocabSize, shard.Path, dest, _options.VerifyBlockChecksums, Dictionaries);
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
    /// The blocks that rank <paramref name="rank"/> of <paramref name="worldSize"/> reads: a contiguous, disjoint slice
    /// in whole blocks, so that ranks never decode the same block.
    /// </summary>
    public (int FirstBlock, int EndBlock) BlocksForRank(int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} of world size {worldSize}");
        long n = BlockCount;
        return ((int)(n * rank / worldSize), (int)(n * (rank + 1) / worldSize));
    }

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
        foreach (var s in _shards) s.Dispose();
    }
}
