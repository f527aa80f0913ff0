using LogitStore.Reading;

namespace LogitStore.Interchange;

/// <summary>
/// Writes a store as top-k Parquet (<c>logitstore export --parquet</c>): a row per sequence, each kept entry's log-probability
/// under the teacher, ln(p × (1 − residual)) (spec section 1), in the layout an import reads back. The file records the
/// store's vocabulary size in its key-value metadata, which an import takes (the largest id need not be V − 1).
/// </summary>
public static class ParquetExport
{
    public static async Task<long> WriteAsync(StoreReader store, string path, TopKParquetLayout layout, CancellationToken ct = default)
    {
        long positions = 0;
        await using var writer = await TopKParquetWriter.CreateAsync(path, layout, store.VocabSize, ct);
        foreach (var block in store.ScanBlocks())
            for (int s = 0; s < block.SequenceCount; s++)
            {
                var row = RowOf(block, s);
                await writer.WriteAsync(row, ct);
                positions += row.InputIds.Length;
            }
        return positions;
    }

    private static TopKRow RowOf(DecodedBlock block, int sequence)
    {
        var v = block.Sequence(sequence);
        var ids = new int[v.Length][];
        var logprobs = new float[v.Length][];
        for (int t = 0; t < v.Length; t++)
        {
            ids[t] = v.IdsAt(t).ToArray();
            var p = v.ProbsAt(t);
            double kept = 1.0 - v.Residual[t];
            logprobs[t] = new float[p.Length];
            for (int j = 0; j < p.Length; j++) logprobs[t][j] = (float)Math.Log(p[j] * kept);
        }
        return new TopKRow(v.Tokens.ToArray(), ids, logprobs);
    }
}
