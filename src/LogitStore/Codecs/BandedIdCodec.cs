using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codec 6: the ids of a position in the rank bands of an id band model, each band's coded as <see cref="ContextIdCodec"/>
/// codes a group's, except that the bands from the model's <c>set_from</c> on are coded as sets in a canonical order
/// (spec 5.11). Lossy in that order only: the values stay in rank order, so a set band pairs them with its ids as the
/// canonical order lists them.
/// </summary>
internal sealed class BandedIdCodec : IIdCodec
{
    public BandedIdCodec(IdContextModel model)
    {
        if (model.Kind != DictionaryKind.IdBandModel) throw new ArgumentException("the banded ids codec needs an id band model (kind 4)");
        Model = model;
    }

    public IdContextModel Model { get; }
    public CodecId Id => CodecId.Banded;
    public uint Param => Model.Ref;
    public bool StoresAscendingIds => false;

    /// <summary>Whether the codec gives back the ids in the order they came (no band is a set).</summary>
    public bool IsLossless => Model.SetFrom == Model.BandCount;

    // At most two symbols per entry (a set band has at most one escape), each at most one 16-bit word, and at most 29
    // extra bits (4 bytes) per entry.
    public int MaxEncodedLength(int count) => IdRans.HeaderBytes + IdRans.StateBytes + 8 * count + 8;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        int entries = ids.Length;
        var tables = ArrayPool<int>.Shared.Rent(2 * entries + 1);
        var symbols = ArrayPool<byte>.Shared.Rent(2 * entries + 1);
        long[] scratch = ArrayPool<long>.Shared.Rent(Math.Max(1, MaxKept(keptCounts)));
        try
        {
            var sink = new EncodingSink(tables, symbols, dest[IdRans.ExtraBitsScratchOffset(entries)..]);
            int e = 0;
            for (int p = 0; p < keptCounts.Length; p++)
            {
                int n = keptCounts[p];
                BandSymbols.OfPosition(Model, Model.ContextOf(tokens[p]), ids.Slice(e, n), scratch, ref sink);
                e += n;
            }
            int steps = sink.Steps;
            return IdRans.WriteColumn(Model, tables.AsSpan(0, steps), symbols.AsSpan(0, steps), sink.FinishBits(), entries, dest);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(tables);
            ArrayPool<byte>.Shared.Return(symbols);
            ArrayPool<long>.Shared.Return(scratch);
        }
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where)
    {
        if (tokens.Length != keptCounts.Length) throw new ArgumentException("one input token per position");
        var stream = IdRans.Open(src, where);
        var x = stream.States;
        var words = stream.Words;
        var extra = stream.ExtraBits;
        var freq = Model.Frequencies;
        var cum = Model.Cumulative;
        var slots = Model.SlotSymbols;
        var contextOf = Model.ContextOfToken;
        var starts = Model.CandidateStart;
        var candidates = Model.Candidates;
        var byRank = Model.IdsByRank;
        var bandStarts = Model.BandStarts;
        var extraBits = ValueClass.ExtraBitsTable;
        var bases = ValueClass.BaseTable;
        int bands = Model.BandCount, setFrom = Model.SetFrom;
        int wordAt = 0, step = 0, e = 0, bitAt = 0, bitCount = 0;
        bool overrun = false;
        ulong bitBuffer = 0;
        for (int p = 0; p < keptCounts.Length; p++)
        {
            int n = keptCounts[p];
            if (n == 0) continue;
            int context = contextOf[tokens[p]];
            int listStart = context < 0 ? 0 : starts[context];
            int listLength = context < 0 ? 0 : starts[context + 1] - listStart;
            int firstTable = bands * (context + 1);
            for (int b = 0, j = 0; j < n; b++)
            {
                int end = b + 1 < bands ? Math.Min(n, bandStarts[b + 1]) : n;
                bool set = b >= setFrom;
                bool global = context < 0;
                int previous = -1;
                for (; j < end; j++, e++)
                {
                    int table = global ? b : firstTable + b;
                    int symbol = IdRans.Step(ref x[step & 3], table, slots, freq, cum, words, ref wordAt, ref overrun);
                    step++;
                    if (symbol == IdContextModel.Escape)
                    {
                        global = true;   // then a symbol of the global table of the same band
                        previous = -1;
                        symbol = IdRans.Step(ref x[step & 3], b, slots, freq, cum, words, ref wordAt, ref overrun);
                        step++;
                    }
                    int width = extraBits[symbol];
                    if (bitCount < width)
                    {
                        while (bitCount <= 56 && bitAt < extra.Length)
                        {
                            bitBuffer |= (ulong)extra[bitAt++] << bitCount;
                            bitCount += 8;
                        }
                        if (bitCount < width) throw where.Corrupt($"the extra bits end before entry {e}");
                    }
                    uint v = bases[symbol] + (uint)(bitBuffer & ((1UL << width) - 1));
                    bitBuffer >>= width;
                    bitCount -= width;
                    // An ordered band codes index + 1; a set band the gap to the previous index (the first: index + 1).
                    long index = set ? previous + (long)v : v - 1;
                    if (global)
                    {
                        if (index >= byRank.Length)
                            throw where.Corrupt($"rank {index} of entry {e} is not below the vocabulary size {byRank.Length}");
                        dest[e] = byRank[(int)index];
                    }
                    else
                    {
                        if (index >= listLength)
                            throw where.Corrupt($"candidate {index} of entry {e} is past the {listLength} of token {tokens[p]}'s list");
                        dest[e] = candidates[listStart + (int)index];
                    }
                    if (set) previous = (int)index;
                    else if (context >= 0) global = false;
                }
            }
            if (overrun) throw where.Corrupt($"the rANS stream ends before entry {e}");
        }
        stream.CheckEnd(x, wordAt, bitAt, bitCount, bitBuffer, where);
    }

    private static int MaxKept(ReadOnlySpan<int> keptCounts)
    {
        int max = 0;
        foreach (int n in keptCounts) max = Math.Max(max, n);
        return max;
    }

    /// <summary>Collects the symbols in decoding order and writes the extra bits.</summary>
    private ref struct EncodingSink(int[] tables, byte[] symbols, Span<byte> bits) : BandSymbols.ISink
    {
        private IdRans.BitWriter _bits = new(bits);

        public int Steps { get; private set; }

        public void Escape(int table)
        {
            tables[Steps] = table;
            symbols[Steps++] = IdContextModel.Escape;
        }

        public void Value(int table, uint v)
        {
            int cls = ValueClass.Of(v, out int extraBits, out uint extra);
            tables[Steps] = table;
            symbols[Steps++] = (byte)cls;
            _bits.Write(extra, extraBits);
        }

        public int FinishBits() => _bits.Finish();
    }
}

/// <summary>
/// The symbols a position's ids become under an id band model (spec 5.11), for the encoder and the model's training: each
/// a 1-based value in a table (its class and extra bits) or an escape.
/// </summary>
internal static class BandSymbols
{
    /// <summary>Receives a position's symbols in decoding order.</summary>
    public interface ISink
    {
        void Escape(int table);

        void Value(int table, uint v);
    }

    /// <summary>
    /// The symbols of one position's <paramref name="ids"/> (in rank order) at context <paramref name="context"/> (−1:
    /// none); <paramref name="scratch"/> holds at least as many elements as the position has ids.
    /// </summary>
    public static void OfPosition<TSink>(IdContextModel m, int context, ReadOnlySpan<int> ids, Span<long> scratch, ref TSink sink)
        where TSink : ISink, allows ref struct
    {
        int n = ids.Length, bands = m.BandCount;
        var starts = m.BandStarts;
        for (int b = 0, j = 0; j < n; b++)
        {
            int end = b + 1 < bands ? Math.Min(n, starts[b + 1]) : n;
            int table = m.BandTable(context, b);
            if (b < m.SetFrom)
            {
                for (; j < end; j++)
                {
                    int index = context < 0 ? -1 : m.CandidateIndex(context, ids[j]);
                    if (index >= 0) sink.Value(table, (uint)index + 1);
                    else
                    {
                        if (context >= 0) sink.Escape(table);
                        sink.Value(b, (uint)m.RankOf(ids[j]) + 1);
                    }
                }
                continue;
            }
            // A set: listed ids by list index, then the others by global rank (the canonical order), as gaps.
            var keys = scratch[..(end - j)];
            for (int i = 0; i < keys.Length; i++) keys[i] = CanonicalKey(m, context, ids[j + i]);
            keys.Sort();
            long previous = -1;
            bool global = context < 0;
            foreach (long key in keys)
            {
                if (!global && key >> 32 != 0)
                {
                    sink.Escape(table);
                    global = true;
                    previous = -1;
                }
                long index = key & uint.MaxValue;
                sink.Value(global ? b : table, (uint)(index - previous));
                previous = index;
            }
            j = end;
        }
    }

    /// <summary>
    /// An id's place in a set band's canonical order (spec 5.11): its list index when listed, else after every listed id
    /// by its global rank (the high half says which).
    /// </summary>
    private static long CanonicalKey(IdContextModel m, int context, int id)
    {
        int index = context < 0 ? -1 : m.CandidateIndex(context, id);
        return index >= 0 ? index : (1L << 32) | (uint)m.RankOf(id);
    }

    /// <summary>The ids of one position as a decoder gives them back: each set band's in its canonical order.</summary>
    public static void Canonicalise(IdContextModel m, int context, Span<int> ids, Span<long> scratch)
    {
        int n = ids.Length, bands = m.BandCount;
        var starts = m.BandStarts;
        for (int b = m.SetFrom; b < bands && starts[b] < n; b++)
        {
            int from = starts[b], end = b + 1 < bands ? Math.Min(n, starts[b + 1]) : n;
            var keys = scratch[..(end - from)];
            for (int i = 0; i < keys.Length; i++) keys[i] = CanonicalKey(m, context, ids[from + i]);
            keys.Sort(ids[from..end]);
        }
    }
}

/// <summary>
/// The writer's bands (spec 5.11, the writer's model): ordered bands 0, 1, 2–3, 4–7, … (each from the third on twice as
/// long as the one before) up to the rank R of <c>banded:R</c>; from R on, set bands of 4 entries, or of an eighth of
/// their start rounded down to a power of two where that is more (8 from rank 64, 16 from 128, …).
/// </summary>
internal static class IdBands
{
    /// <summary>Fewest entries a set band holds: permuting more values at once costs more KL than it saves bits.</summary>
    public const int SetWidth = 4;

    /// <summary>
    /// The band starts that cover positions of up to <paramref name="maxKept"/> entries (at least one band), with set bands
    /// from rank <paramref name="setsFrom"/> on.
    /// </summary>
    public static int[] Starts(int maxKept, int setsFrom)
    {
        var starts = new List<int> { 0 };
        for (int start = 1; start < maxKept; start = Next(start, setsFrom)) starts.Add(start);
        return [.. starts];
    }

    private static int Next(int start, int setsFrom) =>
        start >= setsFrom ? start + Math.Max(SetWidth, (int)BitOperations.RoundUpToPowerOf2((uint)start + 1) / 16)
        : Math.Min(2 * start, setsFrom);

    /// <summary>Whether an ordered band of the writer's layout starts at rank <paramref name="rank"/>: a power of two.</summary>
    public static bool IsBandStart(int rank) => rank >= 1 && (rank & (rank - 1)) == 0;

    /// <summary>The band that starts at rank <paramref name="setsFrom"/> (or after it): the model's <c>set_from</c>.</summary>
    public static int SetFrom(ReadOnlySpan<int> starts, int setsFrom)
    {
        for (int b = 1; b < starts.Length; b++)
            if (starts[b] >= setsFrom) return b;
        return starts.Length;
    }
}
