namespace LogitStore.Loading;

/// <summary>How a <see cref="BatchLoader"/> cuts, orders and assembles batches.</summary>
public sealed record BatchLoaderOptions
{
    /// <summary>
    /// Leave out the blocks of damaged shards (a store opened with <see cref="Reading.StoreReaderOptions.OpenDamaged"/>);
    /// otherwise a batch that needs one carries the error.
    /// </summary>
    public bool SkipDamagedBlocks { get; init; }

    /// <summary>B: rows per batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>T: positions per row. Each stored sequence of length L gives ⌊L / T⌋ rows (windows).</summary>
    public int SequenceLength { get; init; } = 1024;

    /// <summary>
    /// K, the width of the dense [B, T, K] layout: entries per position; positions with more keep their first K
    /// (highest) entries and add the rest to their residual. <see cref="Reading.StoreReader.MaxEntriesPerPosition"/> is the
    /// width that loses nothing.
    /// </summary>
    public int Width { get; init; } = 50;

    /// <summary>
    /// Seeded shuffle (blocks in a random order per epoch, rows in a random order inside each block) or the stored order.
    /// </summary>
    public bool Shuffle { get; init; } = true;

    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Data-parallel split: this rank reads every block whose position in the epoch's order is ≡ rank (mod world size).
    /// </summary>
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;

    /// <summary>Step to start at (resume): the loader is a pure function of (options, step).</summary>
    public long StartStep { get; init; }

    /// <summary>
    /// A recorded loader state to resume from: the loader starts at its step and refuses a store with another fingerprint
    /// (<see cref="StartStep"/> must then be 0 or the same step).
    /// </summary>
    public LoaderResumeState? ResumeFrom { get; init; }

    /// <summary>
    /// Worker threads that decode and assemble batches into the ring; 0 starts none and allocates no ring, for callers that
    /// assemble each step into their own buffers (<see cref="BatchLoader.FillInto"/>).
    /// </summary>
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>Buffers in the ring: how far the workers may run ahead of the trainer.</summary>
    public int RingSize { get; init; } = 4;

    /// <summary>Element type of the tokens, ids and kept-count columns.</summary>
    public BatchIndexType IndexType { get; init; } = BatchIndexType.Int32;

    /// <summary>
    /// Makes the memory of one ring slot (called <see cref="RingSize"/> times, up front, when there are workers); null:
    /// pinned managed arrays.
    /// </summary>
    public Func<BatchLayout, BatchMemory>? Memory { get; init; }

    /// <summary>
    /// What the values travel as: probabilities, or (an mvq store, K at least its most kept entries) the codes a device
    /// decodes (<see cref="BatchLayout.MvqCodebooks"/>).
    /// </summary>
    public Reading.BlockValues Values { get; init; } = Reading.BlockValues.Probabilities;

    public void Validate()
    {
        if (BatchSize < 1 || SequenceLength < 1 || Width < 1)
            throw new ArgumentException("batch size, sequence length and width K must be >= 1");
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize) throw new ArgumentException($"rank {Rank} of world size {WorldSize}");
        if (Workers < 0 || RingSize < 1) throw new ArgumentException("workers must be >= 0 and ring size >= 1");
        if (StartStep < 0) throw new ArgumentException("start step must be >= 0");
        if (ResumeFrom is { } r && StartStep != 0 && StartStep != r.Step)
            throw new ArgumentException($"start step {StartStep} differs from the resumed state's step {r.Step}");
    }
}
