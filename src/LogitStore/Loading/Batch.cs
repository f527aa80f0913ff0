namespace LogitStore.Loading;

/// <summary>
/// One batch in dense, row-major layout, in a ring slot's <see cref="BatchMemory"/>: tokens [B, T], ids and
/// probabilities [B, T, K] (entries past a position's kept count are id 0, probability 0), kept counts [B, T], residual
/// mass [B, T]. Valid until handed back with <see cref="BatchLoader.Release"/>.
/// </summary>
public sealed class Batch
{
    internal Batch(BatchMemory memory)
    {
        Memory = memory;
        RowSequence = new ulong[memory.Layout.Rows];
        RowOffset = new int[memory.Layout.Rows];
    }

    public BatchMemory Memory { get; }
    public int Rows => Memory.Layout.Rows;
    public int Length => Memory.Layout.Length;
    public int K => Memory.Layout.K;

    /// <summary>Global step of this batch (resume from <c>Step + 1</c>).</summary>
    public long Step { get; internal set; }
    public int Epoch { get; internal set; }

    /// <summary>Tokens [B, T] of an <see cref="BatchIndexType.Int32"/> layout.</summary>
    public Span<int> Tokens => Memory.Column<int>(BatchColumn.Tokens);
    /// <summary>Kept counts [B, T] of an <see cref="BatchIndexType.Int32"/> layout.</summary>
    public Span<int> KeptCounts => Memory.Column<int>(BatchColumn.KeptCounts);
    /// <summary>Ids [B, T, K] of an <see cref="BatchIndexType.Int32"/> layout.</summary>
    public Span<int> Ids => Memory.Column<int>(BatchColumn.Ids);
    public Span<float> Probs => Memory.Column<float>(BatchColumn.Probs);
    public Span<float> Residual => Memory.Column<float>(BatchColumn.Residual);

    /// <summary>Where each row came from: the sequence id and the first position inside it.</summary>
    public ulong[] RowSequence { get; }
    public int[] RowOffset { get; }

    /// <summary>Escaped positions listed in <see cref="BatchColumn.EscapePositions"/> (mvq codes only).</summary>
    public int EscapeCount { get; internal set; }

    internal Exception? Fault { get; set; }
}
