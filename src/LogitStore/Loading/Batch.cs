namespace LogitStore.Loading;

/// <summary>
/// One batch in dense, row-major layout, in buffers owned by the loader's ring (pinned, so a device copy can read
/// them directly): tokens [B, T], ids and probabilities [B, T, K] (entries past a position's kept count are id 0,
/// probability 0), kept counts [B, T], residual mass [B, T]. Valid until handed back with <see cref="BatchLoader.Release"/>.
/// </summary>
public sealed class Batch
{
    internal Batch(int b, int t, int k)
    {
        Rows = b;
        Length = t;
        K = k;
        Tokens = GC.AllocateArray<int>(b * t, pinned: true);
        KeptCounts = GC.AllocateArray<int>(b * t, pinned: true);
        Residual = GC.AllocateArray<float>(b * t, pinned: true);
        Ids = GC.AllocateArray<int>(b * t * k, pinned: true);
        Probs = GC.AllocateArray<float>(b * t * k, pinned: true);
        RowSequence = new ulong[b];
        RowOffset = new int[b];
    }

    public int Rows { get; }
    public int Length { get; }
    public int K { get; }

    /// <summary>Global step of this batch (resume from <c>Step + 1</c>).</summary>
    public long Step { get; internal set; }
    public int Epoch { get; internal set; }

    public int[] Tokens { get; }
    public int[] KeptCounts { get; }
    public float[] Residual { get; }
    public int[] Ids { get; }
    public float[] Probs { get; }

    /// <summary>Where each row came from: the sequence id and the first position inside it.</summary>
    public ulong[] RowSequence { get; }
    public int[] RowOffset { get; }

    internal Exception? Fault { get; set; }

    internal BatchBuffers Buffers => new(Tokens, KeptCounts, Residual, Ids, Probs, RowSequence, RowOffset);
}
