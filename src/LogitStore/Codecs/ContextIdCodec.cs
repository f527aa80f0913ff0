using System.Buffers;
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
    public IdContextModel Model { get; } = model;
    public CodecId Id => CodecId.Context;
    public uint Param => Model.Ref;
    public bool StoresAscendingIds => false;

    // At most two symbols per entry, each at most one 16-bit word, and at most 29 extra bits (4 bytes) per entry.
    public int MaxEncodedLength(int count) => IdRans.HeaderBytes + IdRans.StateBytes + 8 * count + 8;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        int entries = ids.Length;
        var tables = ArrayPool<int>.Shared.Rent(2 * entries + 1);
        var symbols = ArrayPool<byte>.Shared.Rent(2 * entries + 1);
        try
        {
            // The symbols in decoding order, and the extra bits after the rANS stream's worst-case room.
            int steps = 0, e = 0;
            var bits = new IdRans.BitWriter(dest[IdRans.ExtraBitsScratchOffset(entries)..]);
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
            return IdRans.WriteColumn(Model, tables.AsSpan(0, steps), symbols.AsSpan(0, steps), bits.Finish(), entries, dest);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(tables);
            ArrayPool<byte>.Shared.Return(symbols);
        }
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where) =>
        ContextIdDecoder.Decode(Model, src, keptCounts, tokens, dest, where);
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
