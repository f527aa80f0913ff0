using System.Diagnostics;
using LogitStore.Processing;
using LogitStore.Reading;

namespace LogitStore.Loading;

/// <summary>
/// Where one batch row comes from: row <see cref="Row"/> of block <see cref="Block"/>, counting the block's rows (windows
/// of T positions) sequence by sequence: sequence Row / windows-per-sequence of the block, window Row mod that.
/// </summary>
public readonly record struct PlannedRow(int Block, int Row);

/// <summary>
/// Which rows go into which batch: a pure function of (seed, epoch, rank, step) and the rows each block holds, with no
/// I/O and no threads. Blocks come in a seeded order per epoch, rank r of world size W takes the places ≡ r (mod W) of
/// that order (<see cref="RankSplit"/>), rows come in a seeded order inside each block, and an epoch is
/// <see cref="StepsPerEpoch"/> batches of consecutive rows, the same number for every rank: so ranks never share a row
/// and a run resumes exactly from a step number.
/// </summary>
public sealed class BatchPlan
{
    private readonly int[] _rowsInBlock;
    private readonly RankSplit _split;
    private readonly bool _shuffle;
    private readonly ulong _seed;

    /// <summary>
    /// A plan over blocks of <paramref name="rowsInBlock"/> rows each (0: a block left out), taking the batch size,
    /// shuffle, seed and rank of <paramref name="options"/>.
    /// </summary>
    public BatchPlan(IReadOnlyList<int> rowsInBlock, BatchLoaderOptions options)
    {
        options.Validate();
        if (rowsInBlock.Count == 0) throw new ArgumentException("a plan needs at least one block");
        _rowsInBlock = [.. rowsInBlock];
        if (_rowsInBlock.Any(r => r < 0)) throw new ArgumentException("a block of a negative number of rows");
        BatchSize = options.BatchSize;
        _split = new RankSplit(options.Rank, options.WorldSize);
        _shuffle = options.Shuffle;
        _seed = options.Seed;
        MostRowsInBlock = _rowsInBlock.Max();
        StepsPerEpoch = FewestRowsOfAnyRank(options.WorldSize) / BatchSize;
        if (StepsPerEpoch == 0)
            throw new ArgumentException($"rank {options.Rank} of {options.WorldSize} gets fewer than {options.BatchSize} rows per epoch");
    }

    /// <summary>
    /// The plan of a store's blocks cut into rows of <see cref="BatchLoaderOptions.SequenceLength"/> positions: each stored
    /// sequence gives ⌊L / T⌋ rows; a damaged block none when <see cref="BatchLoaderOptions.SkipDamagedBlocks"/> is set.
    /// </summary>
    public static BatchPlan For(StoreReader store, BatchLoaderOptions options)
    {
        options.Validate();
        int windows = WindowsPerSequence(store, options);
        var rows = new int[store.BlockCount];
        for (int b = 0; b < rows.Length; b++)
            rows[b] = options.SkipDamagedBlocks && store.IsDamaged(b) ? 0 : (int)store.BlockEntry(b).SequenceCount * windows;
        return new BatchPlan(rows, options);
    }

    /// <summary>Rows of T positions each stored sequence gives (the store's sequences all have one length).</summary>
    public static int WindowsPerSequence(StoreReader store, BatchLoaderOptions options)
    {
        int length = store.SequenceLength;
        return length / options.SequenceLength is var windows and > 0
            ? windows
            : throw new ArgumentException($"rows of {options.SequenceLength} positions do not fit sequences of {length}");
    }

    /// <summary>B: rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Batches per epoch for this rank (the same for every rank: the smallest any rank can fill).</summary>
    public long StepsPerEpoch { get; }

    public int BlockCount => _rowsInBlock.Length;

    /// <summary>The rows of the fullest block (in a store, every block's but the last's, empty ones aside).</summary>
    public int MostRowsInBlock { get; }

    public int RowsInBlock(int block) => _rowsInBlock[block];

    /// <summary>The epoch of <paramref name="step"/>: step / <see cref="StepsPerEpoch"/>.</summary>
    public int EpochOf(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        long epoch = step / StepsPerEpoch;
        return epoch <= int.MaxValue
            ? (int)epoch
            : throw new ArgumentOutOfRangeException(nameof(step), step, $"epoch {epoch} is past the last ({int.MaxValue})");
    }

    /// <summary>Scratch for <see cref="RowsOf(long, Span{PlannedRow}, EpochOrder)"/>: one per thread that asks.</summary>
    public EpochOrder NewEpochOrder() => new(this, _split.CountOf(_rowsInBlock.Length));

    /// <summary>Step <paramref name="step"/>'s rows, batch row by batch row (allocates; for tests and tools).</summary>
    public PlannedRow[] RowsOf(long step)
    {
        var rows = new PlannedRow[BatchSize];
        RowsOf(step, rows, NewEpochOrder());
        return rows;
    }

    /// <summary>
    /// Writes step <paramref name="step"/>'s rows into the first <see cref="BatchSize"/> of <paramref name="rows"/>,
    /// building the epoch's order into <paramref name="order"/> when it holds another: allocates nothing. The result
    /// does not depend on what <paramref name="order"/> held before.
    /// </summary>
    public void RowsOf(long step, Span<PlannedRow> rows, EpochOrder order)
    {
        int epoch = EpochOf(step);
        if (rows.Length < BatchSize) throw new ArgumentException($"{rows.Length} rows for a batch of {BatchSize}");
        if (order.Plan != this) throw new ArgumentException("an epoch order made by another plan");
        BuildEpochOrder(epoch, order);
        var blocks = order.Blocks;
        var rowStart = order.RowStart.AsSpan();
        long first = step % StepsPerEpoch * BatchSize;
        for (int r = 0; r < BatchSize; r++)
        {
            long row = first + r;
            int i = rowStart.BinarySearch(row);
            if (i < 0) i = ~i - 1;
            while (i + 1 < rowStart.Length && rowStart[i + 1] <= row) i++; // past empty blocks, which share the next one's start
            int block = blocks[i], rowInBlock = (int)(row - rowStart[i]);
            Debug.Assert(rowInBlock < _rowsInBlock[block], "steps per epoch promise more rows than this rank holds");
            rows[r] = new PlannedRow(block, RowOrderOf(epoch, block, order)[rowInBlock]);
        }
    }

    /// <summary>Builds into <paramref name="order"/> this rank's blocks of <paramref name="epoch"/>, and where their rows start.</summary>
    private void BuildEpochOrder(int epoch, EpochOrder order)
    {
        if (order.Epoch != epoch)
        {
            order.Epoch = -1;
            var all = order.AllBlocks;
            for (int i = 0; i < all.Length; i++) all[i] = i;
            if (_shuffle) Shuffle(all, new SplitMix64(_seed, 0xB10C_0000UL + (ulong)epoch));
            long acc = 0;
            for (int m = 0; m < order.Blocks.Length; m++)
            {
                int block = all[_split.PlaceOf(m)];
                order.Blocks[m] = block;
                order.RowStart[m] = acc;
                acc += _rowsInBlock[block];
            }
            order.Epoch = epoch;
        }
    }

    /// <summary>The order of <paramref name="block"/>'s rows in <paramref name="epoch"/>: row j of it is row order[j].</summary>
    private ReadOnlySpan<int> RowOrderOf(int epoch, int block, EpochOrder order)
    {
        var rows = order.RowOrder.AsSpan(0, _rowsInBlock[block]);
        if (order.RowOrderEpoch != epoch || order.RowOrderBlock != block)
        {
            order.RowOrderEpoch = -1;
            for (int i = 0; i < rows.Length; i++) rows[i] = i;
            if (_shuffle) Shuffle(rows, new SplitMix64(_seed ^ 0x5EED_0F_0A7AUL, ((ulong)epoch << 32) | (uint)block));
            (order.RowOrderEpoch, order.RowOrderBlock) = (epoch, block);
        }
        return rows;
    }

    private static void Shuffle(Span<int> items, SplitMix64 rng)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>
    /// The fewest rows any rank can get in any epoch. Each holds at least ⌊n / W⌋ blocks; in a store every block but the
    /// last holds the most rows, so at worst a rank holds every empty block and the short last one (an empty last block
    /// counts twice there: a bound a block low, kept because an epoch's steps, and so where a run resumes, follow from
    /// it). Blocks of other sizes fall back on the ⌊n / W⌋ smallest, which bounds any sizes.
    /// </summary>
    private long FewestRowsOfAnyRank(int worldSize)
    {
        int n = _rowsInBlock.Length, full = MostRowsInBlock, last = _rowsInBlock[^1], empty = _rowsInBlock.Count(r => r == 0);
        int blocksOfAnyRank = n / worldSize;
        long storeShaped = (long)(blocksOfAnyRank - empty) * full - (last < full ? full - last : 0);
        long smallest = _rowsInBlock.Order().Take(blocksOfAnyRank).Sum(r => (long)r);
        return Math.Max(0, Math.Min(storeShaped, smallest));
    }
}

/// <summary>
/// One thread's copy of an epoch's order (this rank's blocks, where their rows start) and of the row order of the block
/// it met last, rebuilt in place when a step needs another: reusing it allocates nothing.
/// </summary>
public sealed class EpochOrder
{
    internal EpochOrder(BatchPlan plan, int blocksOfRank)
    {
        Plan = plan;
        AllBlocks = new int[plan.BlockCount];
        Blocks = new int[blocksOfRank];
        RowStart = new long[blocksOfRank];
        RowOrder = new int[plan.MostRowsInBlock];
    }

    internal BatchPlan Plan { get; }
    internal int Epoch = -1;
    internal readonly int[] AllBlocks;
    internal readonly int[] Blocks;
    internal readonly long[] RowStart;
    internal readonly int[] RowOrder;
    internal int RowOrderEpoch = -1, RowOrderBlock = -1;
}
