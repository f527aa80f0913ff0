using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codec 5: each kept id as a value class coded by interleaved rANS under the store's id context model (the position's
/// input token picks a candidate list and tables), plus raw extra bits (spec 5.10). Lossless; entries stay in rank order.
/// </summary>
internal sealed class ContextIdCodec(IdContextModel model) : IIdCodec
{
    private const int States = 4;
    private const uint StateLow = 1u << 16;
    private const int HeaderBytes = 4;
    private const int StateBytes = 4 * States;

    public IdContextModel Model { get; } = model;
    public CodecId Id => CodecId.Context;
    public uint Param => Model.Ref;
    public bool StoresAscendingIds => false;

    // At most two symbols per entry, each at most one 16-bit word, and at most 29 extra bits (4 bytes) per entry.
    public int MaxEncodedLength(int count) => HeaderBytes + StateBytes + 8 * count + 8;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        int entries = ids.Length;
        var tables = ArrayPool<int>.Shared.Rent(2 * entries + 1);
        var symbols = ArrayPool<byte>.Shared.Rent(2 * entries + 1);
        var words = ArrayPool<ushort>.Shared.Rent(2 * entries + 1);
        try
        {
            // Forward pass: the symbols in decoding order, and the extra bits after the rANS stream's worst-case room.
            int steps = 0, e = 0;
            var bits = new BitWriter(dest[(HeaderBytes + StateBytes + 4 * entries)..]);
            for (int p = 0; p < keptCounts.Length; p++)
            {
                int context = Model.ContextOf(tokens[p]);
                for (int j = 0; j < keptCounts[p]; j++, e++)
                {
                    int group = IdContextModel.GroupOf(j);
                    int index = context < 0 ? -1 : Model.CandidateIndex(context, ids[e]);
                    if (context >= 0 && index < 0)
                    {
                        tables[steps] = IdContextModel.TableOf(context, group);
                        symbols[steps++] = IdContextModel.Escape;
                    }
                    bool inList = index >= 0;
                    uint v = (uint)(inList ? index : Model.RankOf(ids[e])) + 1;
                    int cls = ValueClass.Of(v, out int extraBits, out uint extra);
                    tables[steps] = IdContextModel.TableOf(inList ? context : -1, group);
                    symbols[steps++] = (byte)cls;
                    bits.Write(extra, extraBits);
                }
            }
            int bitBytes = bits.Finish();

            // Reverse pass: rANS-encode the symbols last to first; the words come out in the reverse of decoding order.
            Span<uint> x = stackalloc uint[States];
            x.Fill(StateLow);
            var freq = Model.Frequencies;
            var cum = Model.Cumulative;
            int wordCount = 0;
            for (int i = steps - 1; i >= 0; i--)
            {
                int at = tables[i] * IdContextModel.Symbols + symbols[i];
                uint f = freq[at];
                if (f == 0) throw new InvalidOperationException(
                    $"the id context model cannot code symbol {symbols[i]} in table {tables[i]}");
                uint s = x[i & (States - 1)];
                if (s >= (ulong)f << (32 - IdContextModel.PrecisionBits))
                {
                    words[wordCount++] = (ushort)s;
                    s >>= 16;
                }
                x[i & (States - 1)] = ((s / f) << IdContextModel.PrecisionBits) + s % f + cum[at];
            }
            int ransBytes = StateBytes + 2 * wordCount;
            BinaryPrimitives.WriteUInt32LittleEndian(dest, (uint)ransBytes);
            for (int k = 0; k < States; k++) BinaryPrimitives.WriteUInt32LittleEndian(dest[(HeaderBytes + 4 * k)..], x[k]);
            // Move the extra bits right behind the stream (they were written further on; the words fit in between).
            int bitsFrom = HeaderBytes + StateBytes + 4 * entries, bitsTo = HeaderBytes + ransBytes;
            dest.Slice(bitsFrom, bitBytes).CopyTo(dest[bitsTo..]);
            var w = dest[(HeaderBytes + StateBytes)..];
            for (int k = 0; k < wordCount; k++) BinaryPrimitives.WriteUInt16LittleEndian(w[(2 * k)..], words[wordCount - 1 - k]);
            return bitsTo + bitBytes;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(tables);
            ArrayPool<byte>.Shared.Return(symbols);
            ArrayPool<ushort>.Shared.Return(words);
        }
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where) =>
        ContextIdDecoder.Decode(Model, src, keptCounts, tokens, dest, where);

    /// <summary>Little-endian bit writer of spec 5.1 over a span.</summary>
    private ref struct BitWriter(Span<byte> dest)
    {
        private readonly Span<byte> _dest = dest;
        private ulong _buffer;
        private int _count;
        private int _at;

        public void Write(uint value, int width)
        {
            _buffer |= (ulong)value << _count;
            _count += width;
            while (_count >= 8)
            {
                _dest[_at++] = (byte)_buffer;
                _buffer >>= 8;
                _count -= 8;
            }
        }

        public int Finish()
        {
            if (_count > 0) _dest[_at++] = (byte)_buffer;
            _buffer = 0;
            _count = 0;
            return _at;
        }
    }
}

/// <summary>The value classes of spec 5.10: a 1-based value as a class (0 … 122) and a few extra bits.</summary>
internal static class ValueClass
{
    /// <summary>Classes below this code their value directly (v = class + 1), with no extra bits.</summary>
    public const int Direct = 7;

    public const int Count = 123;

    private static readonly uint[] s_base = BuildBases();
    private static readonly byte[] s_extraBits = [.. Enumerable.Range(0, Count + 1).Select(c => (byte)(c >= Count ? 0 : ExtraBits(c)))];

    /// <summary>Extra bits of each symbol of a table (the escape has none): the banded codec's decoder reads them.</summary>
    internal static ReadOnlySpan<byte> ExtraBitsTable => s_extraBits;

    /// <summary>The smallest value of each class (0 for the escape).</summary>
    internal static ReadOnlySpan<uint> BaseTable => s_base;

    public static int Of(uint v, out int extraBits, out uint extra)
    {
        if (v < 8)
        {
            extraBits = 0;
            extra = 0;
            return (int)v - 1;
        }
        int e = 31 - BitOperations.LeadingZeroCount(v);
        uint h = (v >> (e - 2)) - 4;
        extraBits = e - 2;
        extra = v - ((4 + h) << (e - 2));
        return Direct + 4 * (e - 3) + (int)h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ExtraBits(int cls) => cls < Direct ? 0 : 1 + (cls - Direct) / 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Base(int cls) => s_base[cls];

    private static uint[] BuildBases()
    {
        var b = new uint[Count + 1];
        for (int c = 0; c < Count; c++)
            b[c] = c < Direct ? (uint)c + 1 : (uint)(4 + (c - Direct) % 4) << (1 + (c - Direct) / 4);
        return b;
    }
}
