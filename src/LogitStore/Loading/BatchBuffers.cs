namespace LogitStore.Loading;

/// <summary>
/// Where one batch is assembled, in the dense layout of <see cref="Batch"/>: tokens, kept counts and residual [B, T],
/// ids and probabilities [B, T, K], and each row's sequence id and first position [B]. The loader's ring batches and
/// caller-owned memory (numpy arrays, pinned tensors) both come as these spans.
/// </summary>
public readonly ref struct BatchBuffers
{
    public BatchBuffers(
        Span<int> tokens, Span<int> keptCounts, Span<float> residual, Span<int> ids, Span<float> probs,
        Span<ulong> rowSequence, Span<int> rowOffset)
    {
        Tokens = tokens;
        KeptCounts = keptCounts;
        Residual = residual;
        Ids = ids;
        Probs = probs;
        RowSequence = rowSequence;
        RowOffset = rowOffset;
    }

    public Span<int> Tokens { get; }
    public Span<int> KeptCounts { get; }
    public Span<float> Residual { get; }
    public Span<int> Ids { get; }
    public Span<float> Probs { get; }
    public Span<ulong> RowSequence { get; }
    public Span<int> RowOffset { get; }

    /// <summary>Refuses buffers smaller than a [B, T, K] batch needs.</summary>
    public void CheckFits(int rows, int length, int width)
    {
        long positions = (long)rows * length, entries = positions * width;
        if (Tokens.Length < positions || KeptCounts.Length < positions || Residual.Length < positions
            || Ids.Length < entries || Probs.Length < entries || RowSequence.Length < rows || RowOffset.Length < rows)
            throw new ArgumentException($"batch buffers are smaller than [{rows}, {length}, {width}] needs");
    }
}
