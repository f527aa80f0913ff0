using System.Numerics;
using System.Runtime.InteropServices;
using LogitStore.Codecs;
using LogitStore.Reading;

namespace LogitStore.Loading;

/// <summary>
/// Copies planned rows into a batch's memory: decodes each row's block (kept while the next rows come from it) and
/// writes rows of T positions in the dense layout of <see cref="Layout"/>, K entries a position, the rest folded into
/// the residual, or (mvq codes) the codes and escape list. No threads and no plan: any number of threads may assemble
/// at once, each with its own <see cref="AssemblyScratch"/>, and nothing is allocated once the scratch has grown.
/// </summary>
internal sealed class BatchAssembler
{
    private const uint ReserveBound = 1 << 24;
    private const long EagerReserveBytes = 1 << 26;

    private readonly StoreReader _store;
    private readonly BlockValues _values;
    private readonly int _windowsPerSequence;
    private readonly (int Sequences, int Positions, int Entries, int Bytes) _largestBlock;
    private readonly (int Codes, int Positions, int Entries, int Kept)? _mvqReserve;
    private readonly Codecs.Mvq.MvqCodebooks? _codebooks;

    public BatchAssembler(StoreReader store, BatchLoaderOptions options)
    {
        _store = store;
        _values = options.Values;
        _windowsPerSequence = BatchPlan.WindowsPerSequence(store, options);
        for (int b = 0; b < store.BlockCount; b++)
        {
            var e = store.BlockEntry(b);
            // Reserved up front per thread, up to a bound a damaged index cannot push into an out-of-memory (larger blocks
            // grow on demand).
            _largestBlock = ((int)Math.Min(ReserveBound, Math.Max(_largestBlock.Sequences, e.SequenceCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Positions, e.PositionCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Entries, e.EntryCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Bytes, e.BlockLength)));
        }
        // Reserved eagerly only up to a bound that a damaged index cannot push into an out-of-memory (beyond it, on demand).
        if (store.Dictionaries.AllCodebooks.Select(b => b.M).DefaultIfEmpty(0).Max() is var m and > 0
            && (long)_largestBlock.Positions * m <= EagerReserveBytes && _largestBlock.Entries <= EagerReserveBytes)
            _mvqReserve = (_largestBlock.Positions * m, _largestBlock.Positions, _largestBlock.Entries,
                Math.Min(store.MaxEntriesPerPosition ?? _largestBlock.Entries, _largestBlock.Entries));
        Layout = new BatchLayout(options.BatchSize, options.SequenceLength, options.Width, options.IndexType);
        if (options.Values == BlockValues.MvqCodes)
        {
            _codebooks = store.Dictionaries.AllCodebooks.ToList() is [var books] ? books
                : throw new ArgumentException($"{store.Directory}: mvq codes travel from a store with one codebook set " +
                    $"(this one has {store.Dictionaries.AllCodebooks.Count()})");
            if (store.MaxEntriesPerPosition is not int most || most > options.Width)
                throw new ArgumentException($"mvq codes need K >= the store's most entries per position " +
                    $"({store.MaxEntriesPerPosition?.ToString() ?? "unbounded"}), not {options.Width}");
            Layout = Layout with { MvqCodebooks = _codebooks.M };
        }
    }

    /// <summary>The shape and column types of every batch.</summary>
    public BatchLayout Layout { get; }

    /// <summary>Decode buffers grown to the store's largest block, for one assembling thread.</summary>
    public AssemblyScratch NewScratch()
    {
        var decoded = new DecodedBlock();
        decoded.Reserve(_largestBlock.Sequences, _largestBlock.Positions, _largestBlock.Entries, _largestBlock.Bytes);
        return new AssemblyScratch(decoded);
    }

    /// <summary>Refuses memory of another layout, or a column of another size than the layout's.</summary>
    public void CheckFits(BatchMemory memory)
    {
        if (memory.Layout != Layout)
            throw new ArgumentException($"the batch memory has layout {memory.Layout}, the loader needs {Layout}");
        foreach (var c in BatchLayout.Columns)
            if (memory.Column(c).Length != Layout.Bytes(c))
                throw new ArgumentException($"the batch memory's {c} column has {memory.Column(c).Length} bytes, not {Layout.Bytes(c)}");
    }

    /// <summary>
    /// Batch row r ← planned row r, for each of <paramref name="rows"/>, into <paramref name="memory"/> (which
    /// <see cref="CheckFits"/>), each row's sequence id and first position into <paramref name="rowSequence"/> and
    /// <paramref name="rowOffset"/>. Throws the <see cref="StoreCorruptException"/> of a damaged block. Returns the
    /// escaped positions listed (mvq codes; 0 otherwise).
    /// </summary>
    public int Assemble(
        ReadOnlySpan<PlannedRow> rows, BatchMemory memory, Span<ulong> rowSequence, Span<int> rowOffset, AssemblyScratch scratch)
    {
        // The mvq decoder's buffers are the thread's: grown here to the largest block at once (a no-op after a thread's
        // first fill), not block by block as they come, so that which blocks a thread meets first does not matter.
        if (_mvqReserve is var (codes, positions, entries, kept)) MvqValueCodec.ReserveThread(codes, positions, entries, kept);
        int escapes = 0, length = Layout.Length;
        try
        {
            for (int r = 0; r < rows.Length; r++)
            {
                var decoded = Decode(rows[r].Block, scratch);
                int seqInBlock = rows[r].Row / _windowsPerSequence, offset = rows[r].Row % _windowsPerSequence * length;
                rowSequence[r] = decoded.Sequence(seqInBlock).Id;
                rowOffset[r] = offset;
                if (Layout.IndexType == BatchIndexType.Int64) CopyRow<long>(decoded, seqInBlock, offset, memory, r);
                else CopyRow<int>(decoded, seqInBlock, offset, memory, r);
                if (_codebooks is not null)
                    escapes = Layout.IndexType == BatchIndexType.Int64
                        ? CopyCodes<long>(decoded, seqInBlock, offset, memory, r, escapes)
                        : CopyCodes<int>(decoded, seqInBlock, offset, memory, r, escapes);
            }
        }
        catch
        {
            scratch.HeldBlock = -1;
            throw;
        }
        return escapes;
    }

    /// <summary>The scratch's decoded <paramref name="block"/>, decoded now unless it holds it already.</summary>
    private DecodedBlock Decode(int block, AssemblyScratch scratch)
    {
        var decoded = scratch.Decoded;
        if (block != scratch.HeldBlock)
        {
            scratch.HeldBlock = -1;
            _store.ReadBlock(block, decoded, _values);
            if (_codebooks is not null && decoded.MvqCodebooks?.Ref != _codebooks.Ref)
                throw new InvalidOperationException($"block {block} is coded with another codebook set");
            scratch.HeldBlock = block;
        }
        return decoded;
    }

    /// <summary>
    /// Row r of the batch ← positions [offset, offset + T) of the block's sequence, index columns written as
    /// <typeparamref name="TIndex"/>; entries beyond K folded into the residual.
    /// </summary>
    private void CopyRow<TIndex>(DecodedBlock block, int seqInBlock, int offset, BatchMemory memory, int r)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        var view = block.Sequence(seqInBlock);
        int length = Layout.Length, t0 = r * length, k = Layout.K;
        var tokens = memory.Column<TIndex>(BatchColumn.Tokens);
        var allIds = memory.Column<TIndex>(BatchColumn.Ids);
        var counts = memory.Column<TIndex>(BatchColumn.KeptCounts);
        var allProbs = memory.Column<float>(BatchColumn.Probs);
        var residuals = memory.Column<float>(BatchColumn.Residual);
        Widen(view.Tokens.Slice(offset, length), tokens.Slice(t0, length));
        for (int t = 0; t < length; t++)
        {
            var ids = view.IdsAt(offset + t);
            var probs = view.ProbsAt(offset + t);
            int n = Math.Min(ids.Length, k);
            var dIds = allIds.Slice((t0 + t) * k, k);
            var dProbs = _codebooks is null ? allProbs.Slice((t0 + t) * k, k) : default;
            Widen(ids[..n], dIds);
            dIds[n..].Clear();
            float residual = view.Residual[offset + t];
            counts[t0 + t] = TIndex.CreateTruncating(n);
            if (_codebooks is not null)
            {
                residuals[t0 + t] = residual;
                continue;
            }
            probs[..n].CopyTo(dProbs);
            dProbs[n..].Clear();
            if (ids.Length > k)
            {
                // Spec 6.1 mass bookkeeping: the dropped entries' share moves to the residual, the kept K renormalise.
                float kept = 0;
                foreach (float p in dProbs) kept += p;
                if (kept > 0)
                {
                    float inv = 1f / kept;
                    for (int j = 0; j < n; j++) dProbs[j] *= inv;
                }
                residual = 1f - (1f - residual) * kept;
            }
            residuals[t0 + t] = residual;
        }
    }

    /// <summary>
    /// Row r's mvq codes [T, M], and its escaped positions appended to the batch's escape list after the
    /// <paramref name="escapes"/> already there; returns the new length of the list.
    /// </summary>
    private int CopyCodes<TIndex>(DecodedBlock block, int seqInBlock, int offset, BatchMemory memory, int r, int escapes)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        int m = _codebooks!.M, k = Layout.K, length = Layout.Length, first = block.SequenceStart[seqInBlock] + offset;
        block.MvqCodes.AsSpan(first * m, length * m).CopyTo(memory.Column(BatchColumn.MvqCodes).Slice(r * length * m, length * m));
        var escapePositions = memory.Column<TIndex>(BatchColumn.EscapePositions);
        var escapeCodes = memory.Column(BatchColumn.EscapeCodes);
        for (int t = 0; t < length; t++)
        {
            int p = first + t;
            if (block.MvqEscaped[p] == 0) continue;
            int row = escapes++, n = block.KeptCounts[p];
            escapePositions[row] = TIndex.CreateTruncating(r * length + t);
            var dest = escapeCodes.Slice(row * k, k);
            block.EscapeCodes.AsSpan(block.EntryStart[p], n).CopyTo(dest);
            dest[n..].Clear();
        }
        return escapes;
    }

    private static void Widen<TIndex>(ReadOnlySpan<int> source, Span<TIndex> destination) where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        if (typeof(TIndex) == typeof(int))
        {
            source.CopyTo(MemoryMarshal.Cast<TIndex, int>(destination));
            return;
        }
        for (int i = 0; i < source.Length; i++) destination[i] = TIndex.CreateTruncating(source[i]);
    }
}

/// <summary>One assembling thread's decode buffers and the block they hold (-1: none to trust).</summary>
internal sealed class AssemblyScratch(DecodedBlock decoded)
{
    public DecodedBlock Decoded { get; } = decoded;
    public int HeldBlock = -1;
}
