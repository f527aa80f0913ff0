using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The decoder of <see cref="ContextIdCodec"/> (spec 5.10). Each position is decoded in two passes over up to 64 of its
/// entries: the rANS symbols first (the four states in locals, rotated once per symbol; each symbol found in its
/// table's row of <see cref="RansDecodeTables"/>; renormalisation without a branch), then the extra bits and ids. Every
/// check of the spec is made, and errors name the column.
/// </summary>
/// <remarks>
/// The one class of the codecs that reads without bounds checks, and only where an index is in bounds by construction:
/// a table row (its context comes from the model, its group is 0–2, and a slot's count of starts is at least 1, the
/// start 0, and at most the row's coded symbols); a word (clamped to the column's last word where the column ends
/// within reach); an extra-bits window (read only where 8 bytes are left); an id (its index checked against its list,
/// as the spec asks, and lists lie within the model's ids).
/// </remarks>
internal static class ContextIdDecoder
{
    private const int HeaderBytes = 4;
    private const int StateBytes = 16;
    private const uint StateLow = 1u << 16;
    private const int WordsAt = HeaderBytes + StateBytes;

    /// <summary>Entries per pass: the symbols of up to this many, then their extra bits and ids.</summary>
    private const int Chunk = 64;

    /// <summary>Bytes of words a pass can read: two symbols per entry, a word each.</summary>
    private const int WordsPerChunk = 2 * 2 * Chunk;

    /// <summary>The rANS and extra-bit cursors between passes.</summary>
    private struct Cursor
    {
        public uint X0, X1, X2, X3;
        public int WordAt;
        public long BitAt;
    }

    public static void Decode(
        IdContextModel model, ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest,
        ColumnLocation where)
    {
        if (src.Length < HeaderBytes + StateBytes) throw where.Corrupt(
            $"{src.Length} bytes, fewer than the {HeaderBytes + StateBytes} of an empty stream");
        uint ransBytes = BinaryPrimitives.ReadUInt32LittleEndian(src);
        if (ransBytes < StateBytes || ransBytes % 2 != 0 || ransBytes > src.Length - HeaderBytes)
            throw where.Corrupt($"rANS stream length {ransBytes} is odd, below {StateBytes} or past the column's {src.Length} bytes");
        if (tokens.Length != keptCounts.Length) throw new ArgumentException("one input token per position");
        int wordsEnd = HeaderBytes + (int)ransBytes;
        var c = new Cursor
        {
            X0 = InitialState(src, 0, where), X1 = InitialState(src, 1, where),
            X2 = InitialState(src, 2, where), X3 = InitialState(src, 3, where),
            WordAt = WordsAt, BitAt = 8L * wordsEnd,
        };
        if (model.DecodeTables.EntriesPerRow == RansDecodeTables.NarrowEntries)
            DecodeEntries<NarrowRows>(model, src, wordsEnd, keptCounts, tokens, dest, where, ref c);
        else
            DecodeEntries<WideRows>(model, src, wordsEnd, keptCounts, tokens, dest, where, ref c);
        if (c.WordAt != wordsEnd) throw where.Corrupt($"{(wordsEnd - c.WordAt) / 2} rANS words are left after the last entry");
        // The states were rotated once per symbol; all four must be back at 2^16 whatever their order.
        if (c.X0 != StateLow || c.X1 != StateLow || c.X2 != StateLow || c.X3 != StateLow) throw where.Corrupt(
            "rANS states do not end at 2^16: the stream or the model is not the encoder's");
        long usedBytes = (c.BitAt + 7) >> 3;
        if (usedBytes != src.Length) throw where.Corrupt($"{src.Length - usedBytes} bytes are left after the extra bits");
        if ((c.BitAt & 7) != 0 && src[^1] >> (int)(c.BitAt & 7) != 0)
            throw where.Corrupt("unused bits of the last extra-bits byte are not zero");
    }

    private static uint InitialState(ReadOnlySpan<byte> src, int k, ColumnLocation where)
    {
        uint x = BinaryPrimitives.ReadUInt32LittleEndian(src[(HeaderBytes + 4 * k)..]);
        if (x < StateLow) throw where.Corrupt($"initial rANS state {k} ({x}) is below 2^16");
        return x;
    }

    private static void DecodeEntries<TRows>(
        IdContextModel model, ReadOnlySpan<byte> src, int wordsEnd, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens,
        Span<int> dest, ColumnLocation where, ref Cursor c)
        where TRows : struct, IRowShape
    {
        ref uint rows = ref MemoryMarshal.GetArrayDataReference(model.DecodeTables.RowArray);
        var contextOf = model.ContextOfToken;
        var listStarts = model.CandidateStart;
        var ids = model.RanksThenCandidates;
        int vocab = model.VocabSize;
        Span<uint> symbols = stackalloc uint[Chunk];
        int e = 0;
        for (int p = 0; p < keptCounts.Length; p++)
        {
            int n = keptCounts[p];
            if (n == 0) continue;
            if ((uint)n > (uint)(dest.Length - e)) throw new ArgumentException("the kept counts add up to more entries than dest holds");
            int context = contextOf[tokens[p]];
            ref uint tables = ref Unsafe.Add(ref rows, IdContextModel.TableOf(context, 0) * TRows.Length);
            // The position's list within the model's ids: the candidates of its context (none without one).
            int listAt = context < 0 ? 0 : vocab + listStarts[context];
            int listLength = context < 0 ? 0 : listStarts[context + 1] - listStarts[context];
            for (int first = 0; first < n; first += Chunk)
            {
                var chunk = symbols[..Math.Min(Chunk, n - first)];
                // Words are read whether or not a step needs one; near the column's end, clamped to its last word.
                if (c.WordAt <= src.Length - WordsPerChunk)
                    DecodeSymbols<TRows, WordsAhead>(ref c, ref tables, ref rows, src, wordsEnd, first, chunk);
                else
                    DecodeSymbols<TRows, WordsClamped>(ref c, ref tables, ref rows, src, wordsEnd, first, chunk);
                var output = dest.Slice(e + first, chunk.Length);
                int read = ReadValues(ref c.BitAt, src, ids, vocab, listAt, listLength, chunk, output);
                if (read < chunk.Length)
                    ReadValuesChecked(
                        ref c.BitAt, src, ids, vocab, listAt, listLength, chunk[read..], output[read..], e + first + read, where,
                        tokens[p]);
            }
            e += n;
            // Words past the stream's end were read (clamped) when the stream is too short.
            if (c.WordAt > wordsEnd) throw where.Corrupt($"the rANS stream ends before entry {e}");
        }
    }

    /// <summary>
    /// Pass 1 over entries <paramref name="first"/> … of a position whose three tables start at <paramref name="tables"/>:
    /// each entry's symbols (spec 5.10), into <paramref name="symbols"/> the entry (<see cref="RansDecodeTables"/>) of
    /// its value class, from the global table after an escape.
    /// </summary>
    private static void DecodeSymbols<TRows, TWords>(
        ref Cursor c, ref uint tables, ref uint globalTables, ReadOnlySpan<byte> src, int wordsEnd, int first, Span<uint> symbols)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        ref byte column = ref MemoryMarshal.GetReference(src);
        // With no words, the clamped reads land in the header: any word read is then past the end, which the caller checks.
        int lastWord = wordsEnd > WordsAt ? wordsEnd - 2 : 0;
        uint x0 = c.X0, x1 = c.X1, x2 = c.X2, x3 = c.X3;
        int wordAt = c.WordAt;
        ref uint symbol = ref MemoryMarshal.GetReference(symbols);
        ref uint end = ref Unsafe.Add(ref symbol, symbols.Length);
        if (first == 0)
        {
            symbol = Symbol<TRows, TWords>(ref x0, ref x1, ref x2, ref x3, ref tables, ref globalTables, ref column, lastWord, ref wordAt);
            symbol = ref Unsafe.Add(ref symbol, 1);
        }
        // Entry group 1 (entries 1–7), then group 2 (the rest), each with its own and its global table.
        ref uint groupOneEnd = ref Unsafe.Add(ref MemoryMarshal.GetReference(symbols), Math.Clamp(8 - first, 0, symbols.Length));
        ref uint one = ref Unsafe.Add(ref tables, TRows.Length);
        ref uint globalOne = ref Unsafe.Add(ref globalTables, TRows.Length);
        for (; Unsafe.IsAddressLessThan(ref symbol, ref groupOneEnd); symbol = ref Unsafe.Add(ref symbol, 1))
            symbol = Symbol<TRows, TWords>(ref x0, ref x1, ref x2, ref x3, ref one, ref globalOne, ref column, lastWord, ref wordAt);
        ref uint two = ref Unsafe.Add(ref tables, 2 * TRows.Length);
        ref uint globalTwo = ref Unsafe.Add(ref globalTables, 2 * TRows.Length);
        for (; Unsafe.IsAddressLessThan(ref symbol, ref end); symbol = ref Unsafe.Add(ref symbol, 1))
            symbol = Symbol<TRows, TWords>(ref x0, ref x1, ref x2, ref x3, ref two, ref globalTwo, ref column, lastWord, ref wordAt);
        (c.X0, c.X1, c.X2, c.X3, c.WordAt) = (x0, x1, x2, x3, wordAt);
    }

    /// <summary>
    /// An entry's symbol from <paramref name="table"/>, or after an escape from <paramref name="globalTable"/>, with the
    /// states rotated once per symbol (<paramref name="x0"/> is always the next symbol's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Symbol<TRows, TWords>(
        ref uint x0, ref uint x1, ref uint x2, ref uint x3, ref uint table, ref uint globalTable, ref byte column, int lastWord,
        ref int wordAt)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        uint entry = Step<TRows, TWords>(ref x0, ref table, ref column, lastWord, ref wordAt);
        (x0, x1, x2, x3) = (x1, x2, x3, x0);
        // Only a context table has the escape, and its entries lack the global bit.
        if ((byte)entry == IdContextModel.Escape)
        {
            entry = Step<TRows, TWords>(ref x0, ref globalTable, ref column, lastWord, ref wordAt);
            (x0, x1, x2, x3) = (x1, x2, x3, x0);
        }
        return entry;
    }

    /// <summary>
    /// One decoding step of spec 5.10 (steps 1–4) on <paramref name="state"/> with the table whose row starts at
    /// <paramref name="row"/>; returns the symbol's entry (<see cref="RansDecodeTables"/>). The renormalisation reads the
    /// word at <paramref name="wordAt"/> whether or not it is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Step<TRows, TWords>(ref uint state, ref uint row, ref byte column, int lastWord, ref int wordAt)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        uint x = state;
        // The starts at or below the slot x mod 4096: those of the 64-slot words before its word, counted in the row's
        // prefix bytes, and the bits of its word up to it (a shift by 63 − slot mod 64, which ~x is modulo 64).
        ref byte counts = ref Unsafe.As<uint, byte>(ref Unsafe.Add(ref row, TRows.Entries));
        nuint word = (x >> 6) & 63;
        ulong starts = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref counts, 64 + 8 * word));
        nuint k = Unsafe.Add(ref counts, word) + (nuint)BitOperations.PopCount(starts << (int)~x);
        uint entry = Unsafe.Add(ref Unsafe.Subtract(ref row, 1), k);
        x -= RansDecodeTables.StartOf(entry) + RansDecodeTables.ComplementOf(entry) * (x >> IdContextModel.PrecisionBits);
        uint next = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref column, TWords.At(wordAt, lastWord)));
        if (!BitConverter.IsLittleEndian) next = BinaryPrimitives.ReverseEndianness((ushort)next);
        // Branch-free: whether a step renormalises is as good as random.
        uint renormalise = x < StateLow ? 1u : 0u;
        state = (x << (int)(renormalise << 4)) | (next & (0u - renormalise));
        wordAt += (int)(renormalise << 1);
        return entry;
    }

    /// <summary>
    /// Pass 2 while 8 bytes are left at the entry's extra bits and its value is in range: each entry's extra bits and id,
    /// from the position's candidates (<paramref name="listLength"/> of them at <paramref name="listAt"/> of
    /// <paramref name="ids"/>) or, for a global table's symbol, from the rank table. Returns the entries it read.
    /// </summary>
    private static int ReadValues(
        ref long bitCursor, ReadOnlySpan<byte> src, int[] ids, int vocab, int listAt, int listLength, ReadOnlySpan<uint> symbols,
        Span<int> output)
    {
        ref byte column = ref MemoryMarshal.GetReference(src);
        ref int id = ref MemoryMarshal.GetArrayDataReference(ids);
        ref ulong classes = ref MemoryMarshal.GetArrayDataReference(ValueClass.BaseAndExtraBits);
        // A window of 8 bytes read at the entry's byte holds its bits (29 at most).
        long lastWindow = src.Length - 8;
        long bitAt = bitCursor;
        int j = 0;
        for (; j < symbols.Length && j < output.Length; j++)
        {
            uint entry = symbols[j];
            ulong cls = Unsafe.Add(ref classes, entry & RansDecodeTables.SymbolMask);
            int width = (int)(cls >> 32);
            long at = bitAt >> 3;
            if (at > lastWindow) break;
            uint bits = (uint)(ReadWindow(ref column, at) >> (int)(bitAt & 7)) & ((1u << width) - 1);
            uint v = (uint)cls + bits;
            // The rank table for a global table's symbol, else the candidates, without a branch.
            int global = 0 - (int)((entry >> 7) & 1);
            int fromAt = listAt & ~global, fromLength = (listLength & ~global) | (vocab & global);
            if (v - 1 >= (uint)fromLength) break;
            bitAt += width;
            output[j] = Unsafe.Add(ref id, fromAt + (int)v - 1);
        }
        bitCursor = bitAt;
        return j;
    }

    /// <summary>Pass 2 for the entries <see cref="ReadValues"/> leaves: the column's last ones, or one out of range.</summary>
    private static void ReadValuesChecked(
        ref long bitAt, ReadOnlySpan<byte> src, int[] ids, int vocab, int listAt, int listLength, ReadOnlySpan<uint> symbols,
        Span<int> output, int firstEntry, ColumnLocation where, int token)
    {
        for (int j = 0; j < symbols.Length; j++)
        {
            uint entry = symbols[j];
            ulong cls = ValueClass.BaseAndExtraBits[entry & RansDecodeTables.SymbolMask];
            int width = (int)(cls >> 32);
            if (bitAt + width > 8L * src.Length) throw where.Corrupt($"the extra bits end before entry {firstEntry + j}");
            ulong window = 0;
            for (long b = bitAt >> 3, last = Math.Min(src.Length, (bitAt >> 3) + 8); b < last; b++)
                window |= (ulong)src[(int)b] << (int)(8 * (b - (bitAt >> 3)));
            uint v = (uint)cls + ((uint)(window >> (int)(bitAt & 7)) & ((1u << width) - 1));
            bitAt += width;
            bool global = (entry & RansDecodeTables.Global) != 0;
            int fromAt = global ? 0 : listAt, fromLength = global ? vocab : listLength;
            if (v - 1 >= (uint)fromLength)
                throw where.Corrupt(global
                    ? $"rank {v - 1} of entry {firstEntry + j} is not below the vocabulary size {vocab}"
                    : $"candidate {v - 1} of entry {firstEntry + j} is past the {listLength} of token {token}'s list");
            output[j] = ids[fromAt + (int)v - 1];
        }
    }

    /// <summary>The 8 bytes at <paramref name="at"/>, which the caller has checked are in the column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadWindow(ref byte column, long at)
    {
        ulong window = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref column, (nint)at));
        return BitConverter.IsLittleEndian ? window : BinaryPrimitives.ReverseEndianness(window);
    }

    /// <summary>The row geometry of a model's tables, fixed per decode so that the compiler folds it.</summary>
    private interface IRowShape
    {
        static abstract int Entries { get; }
        static abstract int Length { get; }
    }

    private readonly struct NarrowRows : IRowShape
    {
        public static int Entries => RansDecodeTables.NarrowEntries;
        public static int Length => RansDecodeTables.NarrowEntries + RansDecodeTables.AfterEntries;
    }

    private readonly struct WideRows : IRowShape
    {
        public static int Entries => RansDecodeTables.WideEntries;
        public static int Length => RansDecodeTables.WideEntries + RansDecodeTables.AfterEntries;
    }

    /// <summary>Where a pass reads its words: as they come, or clamped to the last word near the column's end.</summary>
    private interface IWordReach
    {
        static abstract nint At(int wordAt, int lastWord);
    }

    /// <summary>A pass whose every read (at most <see cref="WordsPerChunk"/> bytes on) lies within the column.</summary>
    private readonly struct WordsAhead : IWordReach
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint At(int wordAt, int lastWord) => wordAt;
    }

    private readonly struct WordsClamped : IWordReach
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint At(int wordAt, int lastWord) => Math.Min(wordAt, lastWord);
    }
}
