using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LogitStore.Loading;

/// <summary>
/// The columns of a dense batch. Probabilities travel either decoded (<see cref="Probs"/>) or, from an mvq store, as
/// their codes (<see cref="MvqCodes"/>, and the escaped positions' flat indexes and q8 codes) for a decoder on the device.
/// </summary>
public enum BatchColumn { Tokens, Ids, KeptCounts, Probs, Residual, MvqCodes, EscapePositions, EscapeCodes }

/// <summary>
/// Element type of the index columns (tokens, ids, kept counts): 32-bit, or 64-bit where the trainer indexes with
/// them (torch's gather and embedding lookups take int64), so the decoder writes the trainer's type and nothing
/// converts afterwards. Probabilities and residual mass are always float32.
/// </summary>
public enum BatchIndexType { Int32, Int64 }

/// <summary>
/// The shape of every batch a loader fills: B rows × T positions × K entries per position; with
/// <paramref name="MvqCodebooks"/> = M > 0 the values travel as M one-byte codebook indexes per position instead of K
/// probabilities, and escaped positions as a list (flat position index, K q8 codes) of up to B·T rows.
/// </summary>
public sealed record BatchLayout(int Rows, int Length, int K, BatchIndexType IndexType = BatchIndexType.Int32, int MvqCodebooks = 0)
{
    public static readonly BatchColumn[] Columns = Enum.GetValues<BatchColumn>();

    public long Positions => (long)Rows * Length;

    public long Elements(BatchColumn column) => column switch
    {
        BatchColumn.Ids => Positions * K,
        BatchColumn.Probs => MvqCodebooks > 0 ? 0 : Positions * K,
        BatchColumn.MvqCodes => Positions * MvqCodebooks,
        BatchColumn.EscapePositions => MvqCodebooks > 0 ? Positions : 0,
        BatchColumn.EscapeCodes => MvqCodebooks > 0 ? Positions * K : 0,
        _ => Positions,
    };

    public int ElementSize(BatchColumn column) => column switch
    {
        BatchColumn.Probs or BatchColumn.Residual => 4,
        BatchColumn.MvqCodes or BatchColumn.EscapeCodes => 1,
        _ => IndexType == BatchIndexType.Int32 ? 4 : 8,
    };

    public long Bytes(BatchColumn column) => Elements(column) * ElementSize(column);

    /// <summary>
    /// Bytes a batch with <paramref name="escapes"/> escaped positions moves, per position: every column, the escape list
    /// only as far as it is filled.
    /// </summary>
    public double BytesPerPosition(int escapes = 0) =>
        (Columns.Where(c => c is not BatchColumn.EscapePositions and not BatchColumn.EscapeCodes).Sum(Bytes)
            + (MvqCodebooks > 0 ? escapes * (ElementSize(BatchColumn.EscapePositions) + (long)K) : 0)) / (double)Positions;

    public long[] Shape(BatchColumn column) => column switch
    {
        BatchColumn.Ids or BatchColumn.Probs when Elements(column) > 0 => [Rows, Length, K],
        BatchColumn.MvqCodes => [Rows, Length, MvqCodebooks],
        BatchColumn.EscapePositions => [Elements(column)],
        BatchColumn.EscapeCodes => [Elements(column) / Math.Max(1, K), K],
        BatchColumn.Probs => [0],
        _ => [Rows, Length],
    };
}

/// <summary>
/// The memory one ring slot's batch lives in. By default the loader's own pinned arrays; a training framework passes
/// its own (<see cref="BatchLoaderOptions.Memory"/>: torch tensors, numpy arrays) so that the decoder writes where
/// the trainer reads and no copy follows. The memory must not move while the loader lives: the loader's workers
/// write each column through <see cref="Column"/>, one slot per worker at a time.
/// </summary>
public abstract class BatchMemory
{
    protected BatchMemory(BatchLayout layout) => Layout = layout;

    public BatchLayout Layout { get; }

    /// <summary>The column's bytes, row-major, exactly <see cref="BatchLayout.Bytes"/> long.</summary>
    public abstract Span<byte> Column(BatchColumn column);

    /// <summary>The column as elements of <typeparamref name="T"/>, which must have the column's element size.</summary>
    public Span<T> Column<T>(BatchColumn column) where T : unmanaged
    {
        int size = Layout.ElementSize(column);
        if (Unsafe.SizeOf<T>() != size)
            throw new InvalidOperationException(
                $"the {column} column holds {size}-byte elements ({Layout.IndexType} index columns), not {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(Column(column));
    }
}

/// <summary>The loader's default memory: one pinned managed array per column (a device copy can read it directly).</summary>
internal sealed class PinnedArrayBatchMemory : BatchMemory
{
    private readonly byte[][] _columns;

    public PinnedArrayBatchMemory(BatchLayout layout) : base(layout) =>
        _columns = BatchLayout.Columns.Select(c => GC.AllocateArray<byte>(checked((int)layout.Bytes(c)), pinned: true)).ToArray();

    public override Span<byte> Column(BatchColumn column) => _columns[(int)column];
}
