using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The decoder of <see cref="ContextIdCodec"/> (spec 5.10), in two passes over batches of about 256 entries: the rANS
/// symbols first (the four states in locals; each symbol found in its table's row of <see cref="RansDecodeTables"/>;
/// renormalisation without a branch), then the extra bits and ids (8 entries at a time with AVX-512). Every check of the
/// spec is made, and errors name the column.
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
    private const int HeaderBytes = IdRans.HeaderBytes;
    private const int StateBytes = IdRans.StateBytes;
    private const uint StateLow = IdRans.StateLow;
    private const int WordsAt = HeaderBytes + StateBytes;

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
        var column = IdRans.Open(src, where);
        if (tokens.Length != keptCounts.Length) throw new ArgumentException("one input token per position");
        int wordsEnd = WordsAt + column.Words.Length;
        var c = new Cursor
        {
            X0 = column.States[0], X1 = column.States[1], X2 = column.States[2], X3 = column.States[3],
            WordAt = WordsAt, BitAt = 8L * wordsEnd,
        };
        if (model.DecodeTables.RowLength == NarrowRows.Length)
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

    private static void DecodeEntries<TRows>(
        IdContextModel model, ReadOnlySpan<byte> src, int wordsEnd, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens,
        Span<int> dest, ColumnLocation where, ref Cursor c)
        where TRows : struct, IRowShape
    {
        var ids = model.RanksThenCandidates;
        // Room for a vector step past the batch's last entry.
        Span<uint> symbols = stackalloc uint[Batch + VectorEntries];
        Span<ulong> lists = stackalloc ulong[Batch + VectorEntries];
        Span<int> scratch = stackalloc int[VectorEntries];
        var batch = new BatchCursor();
        while (batch.Position < keptCounts.Length)
        {
            int firstEntry = batch.Entry;
            // Words are read whether or not a step needs one; near the column's end, clamped to its last word.
            int filled = c.WordAt <= src.Length - WordsPerBatch
                ? DecodeSymbols<TRows, WordsAhead>(
                    ref c, ref batch, model, src, wordsEnd, keptCounts, tokens, dest.Length, where, symbols, lists)
                : DecodeSymbols<TRows, WordsClamped>(
                    ref c, ref batch, model, src, wordsEnd, keptCounts, tokens, dest.Length, where, symbols, lists);
            var output = dest.Slice(firstEntry, filled);
            int read = ReadValuesVector(ref c.BitAt, src, ids, symbols, lists, filled, output, scratch);
            read += ReadValues(ref c.BitAt, src, ids, symbols[read..filled], lists[read..filled], output[read..]);
            if (read < filled)
                ReadValuesChecked(
                    ref c.BitAt, src, ids, symbols[read..filled], lists[read..filled], output[read..], firstEntry + read,
                    keptCounts, tokens, where);
        }
    }

    /// <summary>Entries per batch: pass 1 decodes the symbols of whole positions (or part of a larger one), pass 2 the rest.</summary>
    private const int Batch = 256;

    /// <summary>Bytes of words a batch can read: two symbols per entry, a word each.</summary>
    private const int WordsPerBatch = 2 * 2 * Batch;

    /// <summary>Where the next batch starts: a position, the entries of it already decoded, and the column's entry.</summary>
    private struct BatchCursor
    {
        public int Position, Done, Entry;
    }

    /// <summary>
    /// Pass 1 over the positions from <paramref name="batch"/> on, until <see cref="Batch"/> entries: each entry's
    /// symbols (spec 5.10), into <paramref name="symbols"/> the entry (<see cref="RansDecodeTables"/>) of its value class
    /// (from the global table after an escape), and into <paramref name="lists"/> where its id is read from: the first
    /// index of its list in the model's ids and the end, one above its last. Returns the entries decoded.
    /// </summary>
    private static int DecodeSymbols<TRows, TWords>(
        ref Cursor c, ref BatchCursor batch, IdContextModel model, ReadOnlySpan<byte> src, int wordsEnd,
        ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, int destLength, ColumnLocation where, Span<uint> symbols,
        Span<ulong> lists)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        ref uint rows = ref MemoryMarshal.GetArrayDataReference(model.DecodeTables.RowArray);
        ref byte column = ref MemoryMarshal.GetReference(src);
        var contextOf = model.ContextOfToken;
        var listStarts = model.CandidateStart;
        ulong vocab = (ulong)model.VocabSize;
        ulong ranks = vocab << 32;
        // With no words, the clamped reads land in the header: any word read is then past the end, which each position checks.
        nint lastWord = wordsEnd > WordsAt ? wordsEnd - 2 : 0;
        uint x0 = c.X0, x1 = c.X1, x2 = c.X2, x3 = c.X3;
        nint wordAt = c.WordAt;
        ref uint first = ref MemoryMarshal.GetReference(symbols);
        ref ulong firstList = ref MemoryMarshal.GetReference(lists);
        ref uint symbol = ref first;
        int filled = 0, p = batch.Position, done = batch.Done;
        for (; p < keptCounts.Length; p++, done = 0)
        {
            int n = keptCounts[p] - done;
            if (n == 0) continue;
            if (n > Batch - filled)
            {
                if (filled > 0) break;
                n = Batch;
            }
            if ((uint)n > (uint)(destLength - batch.Entry - filled))
                throw new ArgumentException("the kept counts add up to more entries than dest holds");
            int context = contextOf[tokens[p]];
            ref uint tables = ref Unsafe.Add(ref rows, IdContextModel.TableOf(context, 0) * TRows.Length);
            // The position's list in the model's ids: its context's candidates, or the rank table without a context.
            ulong own = ranks;
            if (context >= 0)
            {
                ulong at = vocab + (ulong)listStarts[context];
                own = at | (at + (ulong)(listStarts[context + 1] - listStarts[context])) << 32;
            }
            // Every entry reads its id from the position's list but an escaped one, which pass 1 marks.
            lists.Slice(filled, n).Fill(own);
            int j = 0;
            if (done == 0)
            {
                Entry<TRows, TWords>(
                    ref x0, ref x1, ref x2, ref x3, ref tables, ref rows, ref column, lastWord, ref wordAt, ref symbol, ref first,
                    ref firstList, ranks);
                (x0, x1, x2, x3) = (x1, x2, x3, x0);
                j = 1;
            }
            // Entry group 1 (entries 1–7), then group 2 (the rest), each with its own and its global table.
            int groupOne = Math.Clamp(8 - Math.Max(done, 1), 0, n - j);
            ref uint one = ref Unsafe.Add(ref tables, TRows.Length);
            ref uint globalOne = ref Unsafe.Add(ref rows, TRows.Length);
            DecodeRun<TRows, TWords>(
                ref x0, ref x1, ref x2, ref x3, ref one, ref globalOne, ref column, lastWord, ref wordAt,
                ref Unsafe.Add(ref symbol, j), groupOne, ref first, ref firstList, ranks);
            j += groupOne;
            ref uint two = ref Unsafe.Add(ref tables, 2 * TRows.Length);
            ref uint globalTwo = ref Unsafe.Add(ref rows, 2 * TRows.Length);
            DecodeRun<TRows, TWords>(
                ref x0, ref x1, ref x2, ref x3, ref two, ref globalTwo, ref column, lastWord, ref wordAt,
                ref Unsafe.Add(ref symbol, j), n - j, ref first, ref firstList, ranks);
            symbol = ref Unsafe.Add(ref symbol, n);
            filled += n;
            done += n;
            if (done < keptCounts[p]) break;   // a position larger than a batch goes on in the next
            // Words past the stream's end were read (clamped) when the stream is too short.
            if (wordAt > wordsEnd) throw StreamEnds(where, batch.Entry + filled);
        }
        (c.X0, c.X1, c.X2, c.X3, c.WordAt) = (x0, x1, x2, x3, (int)wordAt);
        (batch.Position, batch.Done) = (p, done);
        batch.Entry += filled;
        return filled;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static StoreCorruptException StreamEnds(ColumnLocation where, int entry) =>
        where.Corrupt($"the rANS stream ends before entry {entry}");

    /// <summary>
    /// <paramref name="count"/> entries of a batch from <paramref name="symbol"/> on, with <paramref name="table"/> and
    /// <paramref name="globalTable"/>: four at a time with each state in its own local, then one at a time with the states
    /// rotated; <paramref name="x0"/> is the next symbol's state before and after.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DecodeRun<TRows, TWords>(
        ref uint x0, ref uint x1, ref uint x2, ref uint x3, ref uint table, ref uint globalTable, ref byte column, nint lastWord,
        ref nint wordAt, ref uint symbol, int count, ref uint symbols, ref ulong lists, ulong ranks)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        ref uint end = ref Unsafe.Add(ref symbol, count);
        ref uint fours = ref Unsafe.Add(ref symbol, count & ~3);
        for (; Unsafe.IsAddressLessThan(ref symbol, ref fours); symbol = ref Unsafe.Add(ref symbol, 4))
        {
            Entry<TRows, TWords>(
                ref x0, ref x1, ref x2, ref x3, ref table, ref globalTable, ref column, lastWord, ref wordAt, ref symbol,
                ref symbols, ref lists, ranks);
            Entry<TRows, TWords>(
                ref x1, ref x2, ref x3, ref x0, ref table, ref globalTable, ref column, lastWord, ref wordAt,
                ref Unsafe.Add(ref symbol, 1), ref symbols, ref lists, ranks);
            Entry<TRows, TWords>(
                ref x2, ref x3, ref x0, ref x1, ref table, ref globalTable, ref column, lastWord, ref wordAt,
                ref Unsafe.Add(ref symbol, 2), ref symbols, ref lists, ranks);
            Entry<TRows, TWords>(
                ref x3, ref x0, ref x1, ref x2, ref table, ref globalTable, ref column, lastWord, ref wordAt,
                ref Unsafe.Add(ref symbol, 3), ref symbols, ref lists, ranks);
        }
        for (; Unsafe.IsAddressLessThan(ref symbol, ref end); symbol = ref Unsafe.Add(ref symbol, 1))
        {
            Entry<TRows, TWords>(
                ref x0, ref x1, ref x2, ref x3, ref table, ref globalTable, ref column, lastWord, ref wordAt, ref symbol,
                ref symbols, ref lists, ranks);
            (x0, x1, x2, x3) = (x1, x2, x3, x0);
        }
    }

    /// <summary>
    /// An entry's symbol from <paramref name="table"/> with state <paramref name="a"/> into <paramref name="symbol"/>, or
    /// after an escape from <paramref name="globalTable"/> with <paramref name="b"/>, its list then the rank table. The
    /// states are the next four symbols', in order; after an escape they move one place down, so that
    /// <paramref name="a"/> is the next entry's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Entry<TRows, TWords>(
        ref uint a, ref uint b, ref uint c, ref uint d, ref uint table, ref uint globalTable, ref byte column, nint lastWord,
        ref nint wordAt, ref uint symbol, ref uint symbols, ref ulong lists, ulong ranks)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        uint first = Step<TRows, TWords>(ref a, ref table, ref column, lastWord, ref wordAt);
        symbol = first;
        if ((byte)first != IdContextModel.Escape) return;
        symbol = Step<TRows, TWords>(ref b, ref globalTable, ref column, lastWord, ref wordAt);
        Unsafe.Add(ref lists, Unsafe.ByteOffset(ref symbols, ref symbol) / sizeof(uint)) = ranks;
        (a, b, c, d) = (b, c, d, a);
    }

    /// <summary>
    /// One decoding step of spec 5.10 (steps 1–4) on <paramref name="state"/> with the table whose row starts at
    /// <paramref name="row"/>; returns the first uint of the symbol's entry (<see cref="RansDecodeTables"/>). The
    /// renormalisation reads the word at <paramref name="wordAt"/> whether or not it is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Step<TRows, TWords>(ref uint state, ref uint row, ref byte column, nint lastWord, ref nint wordAt)
        where TRows : struct, IRowShape
        where TWords : struct, IWordReach
    {
        uint x = state;
        // The starts at or below the slot x mod 4096 (RansDecodeTables): the count up to the end of its 64-slot word, less
        // those its word marks past the slot (a shift by the slot mod 64, which is x modulo 64).
        ref byte counts = ref Unsafe.As<uint, byte>(ref row);
        nuint word = (x >> 6) & 63;
        ulong later = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref counts, 64 + 8 * word)) >> (int)x;
        nuint k = Unsafe.Add(ref counts, word)
            - (Popcnt.X64.IsSupported ? (nuint)Popcnt.X64.PopCount(later) : (nuint)BitOperations.PopCount(later));
        ref uint entry = ref Unsafe.Add(ref row, RansDecodeTables.BeforeEntries + RansDecodeTables.EntryLength * (k - 1));
        uint packed = Unsafe.Add(ref entry, 1);
        x -= RansDecodeTables.StartOf(packed) + entry * (x >> IdContextModel.PrecisionBits);
        // Branch-free, as whether a step renormalises is as good as random: all ones when x is below 2^16.
        nint renormalise = (nint)(((long)x - StateLow) >> 63);
        x <<= (int)(renormalise & 16);
        uint next = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref column, TWords.At(wordAt, lastWord)));
        if (!BitConverter.IsLittleEndian) next = BinaryPrimitives.ReverseEndianness((ushort)next);
        state = x | (next & (uint)renormalise);
        wordAt -= 2 * renormalise;
        return RansDecodeTables.SymbolOf(packed);
    }

    /// <summary>
    /// Pass 2 while 8 bytes are left at the entry's extra bits and its value is in range: each entry's extra bits and id,
    /// read from its list (<paramref name="lists"/>: the first index in <paramref name="ids"/>, and the end above 32 bits).
    /// Returns the entries it read.
    /// </summary>
    private static int ReadValues(
        ref long bitCursor, ReadOnlySpan<byte> src, int[] ids, ReadOnlySpan<uint> symbols, ReadOnlySpan<ulong> lists,
        Span<int> output)
    {
        ref byte column = ref MemoryMarshal.GetReference(src);
        ref int id = ref MemoryMarshal.GetArrayDataReference(ids);
        // A window of 8 bytes read at the entry's byte holds its bits (29 at most).
        long lastWindow = src.Length - 8;
        long bitAt = bitCursor;
        int j = 0;
        for (; j < symbols.Length && j < lists.Length && j < output.Length; j++)
        {
            uint symbol = symbols[j];
            int width = RansDecodeTables.WidthOf(symbol);
            long at = bitAt >> 3;
            if (at > lastWindow) break;
            uint bits = (uint)(ReadWindow(ref column, at) >> (int)(bitAt & 7)) & ((1u << width) - 1);
            uint index = (uint)lists[j] + (RansDecodeTables.LeadOf(symbol) << width) + bits - 1;
            if (index >= (uint)(lists[j] >> 32)) break;
            bitAt += width;
            output[j] = Unsafe.Add(ref id, index);
        }
        bitCursor = bitAt;
        return j;
    }

    /// <summary>Entries of one vector pass 2 step: 8 extra-bit windows of 64 bits.</summary>
    private const int VectorEntries = 8;

    /// <summary>
    /// <see cref="ReadValues"/> 8 entries at a time with AVX-512 (where the CPU has it, else none) for the first
    /// <paramref name="count"/> of <paramref name="symbols"/> (which has room for 8 more): the entries' value classes,
    /// their widths' prefix sums, and every window cut from one 64-byte load of the extra bits with a byte permute. Stops
    /// where fewer than 64 bytes are left, or before 8 entries of which one is out of range.
    /// </summary>
    private static int ReadValuesVector(
        ref long bitCursor, ReadOnlySpan<byte> src, int[] ids, ReadOnlySpan<uint> symbols, ReadOnlySpan<ulong> lists, int count,
        Span<int> output, Span<int> scratch)
    {
        if (!Avx512Vbmi.IsSupported || !Avx512BW.IsSupported || count + VectorEntries > symbols.Length
            || count + VectorEntries > lists.Length || output.Length < count || scratch.Length < VectorEntries)
            return 0;
        ref byte column = ref MemoryMarshal.GetReference(src);
        ref int id = ref MemoryMarshal.GetArrayDataReference(ids);
        ref uint symbol = ref MemoryMarshal.GetReference(symbols);
        ref ulong list = ref MemoryMarshal.GetReference(lists);
        ref int index = ref MemoryMarshal.GetReference(scratch);
        long lastBlock = src.Length - Vector512<byte>.Count;
        long bitAt = bitCursor;
        var one = Vector512<ulong>.One;
        var zero = Vector512<ulong>.Zero;
        // A byte shuffle that copies each 64-bit lane's lowest byte to all 8 of its bytes (it works within 16-byte lanes).
        const ulong upper = 0x0808_0808_0808_0808;
        var firstByte = Vector512.Create(0, upper, 0, upper, 0, upper, 0, upper).AsByte();
        var byteOrder = Vector512.Create(0x0706_0504_0302_0100UL).AsByte();
        var lane = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        int j = 0;
        for (; j < count; j += VectorEntries)
        {
            long at = bitAt >> 3;
            if (at > lastBlock) break;
            var cls = Avx512F.ConvertToVector512UInt64(Vector256.LoadUnsafe(ref Unsafe.Add(ref symbol, j)));
            var width = (cls >>> 8) & Vector512.Create(31UL);
            var smallest = Avx512F.ShiftLeftLogicalVariable(cls >>> 13, width);
            // Inclusive prefix sums of the widths across the 8 lanes, then each entry's bit offset from the first byte.
            var sum = width + Avx512F.AlignRight64(width, zero, 7);
            sum += Avx512F.AlignRight64(sum, zero, 6);
            sum += Avx512F.AlignRight64(sum, zero, 4);
            var offset = sum - width + Vector512.Create((ulong)(bitAt & 7));
            // Each lane's 8 bytes from its first byte (below 64: 7·29 + 7 bits), cut from the block with a byte permute.
            var firstOfLane = Avx512BW.Shuffle((offset >>> 3).AsByte(), firstByte) + byteOrder;
            var windows = Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref column, (nuint)at), firstOfLane).AsUInt64();
            var bits = Avx512F.ShiftRightLogicalVariable(windows, offset & Vector512.Create(7UL))
                & (Avx512F.ShiftLeftLogicalVariable(one, width) - one);
            var bounds = Vector512.LoadUnsafe(ref list, (nuint)j);
            var at32 = (bounds & Vector512.Create(0xFFFF_FFFFUL)) + smallest + bits - one;
            // The last step of a batch may hold fewer than 8 entries: the lanes past them are left out of the check.
            int lanes = Math.Min(VectorEntries, count - j);
            var past = Vector512.GreaterThanOrEqual(lane, Vector512.Create((ulong)lanes));
            if (!Vector512.EqualsAll(Vector512.LessThan(at32, bounds >>> 32) | past, Vector512<ulong>.AllBitsSet)) break;
            Avx512F.ConvertToVector256Int32(at32.AsInt64()).StoreUnsafe(ref index);
            ref int into = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), j);
            if (lanes == VectorEntries)
            {
                into = Unsafe.Add(ref id, index);
                Unsafe.Add(ref into, 1) = Unsafe.Add(ref id, Unsafe.Add(ref index, 1));
                Unsafe.Add(ref into, 2) = Unsafe.Add(ref id, Unsafe.Add(ref index, 2));
                Unsafe.Add(ref into, 3) = Unsafe.Add(ref id, Unsafe.Add(ref index, 3));
                Unsafe.Add(ref into, 4) = Unsafe.Add(ref id, Unsafe.Add(ref index, 4));
                Unsafe.Add(ref into, 5) = Unsafe.Add(ref id, Unsafe.Add(ref index, 5));
                Unsafe.Add(ref into, 6) = Unsafe.Add(ref id, Unsafe.Add(ref index, 6));
                Unsafe.Add(ref into, 7) = Unsafe.Add(ref id, Unsafe.Add(ref index, 7));
                bitAt += (long)sum.GetElement(VectorEntries - 1);
            }
            else
            {
                for (int i = 0; i < lanes; i++) Unsafe.Add(ref into, i) = Unsafe.Add(ref id, Unsafe.Add(ref index, i));
                bitAt += (long)sum.GetElement(lanes - 1);
            }
        }
        bitCursor = bitAt;
        return Math.Min(j, count);
    }

    /// <summary>
    /// Pass 2 for the entries <see cref="ReadValues"/> leaves (the column's last, or one out of range), with every check;
    /// <paramref name="firstEntry"/> is the column's index of the first.
    /// </summary>
    private static void ReadValuesChecked(
        ref long bitAt, ReadOnlySpan<byte> src, int[] ids, ReadOnlySpan<uint> symbols, ReadOnlySpan<ulong> lists,
        Span<int> output, int firstEntry, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, ColumnLocation where)
    {
        for (int j = 0; j < symbols.Length; j++)
        {
            uint symbol = symbols[j];
            int width = RansDecodeTables.WidthOf(symbol);
            if (bitAt + width > 8L * src.Length) throw where.Corrupt($"the extra bits end before entry {firstEntry + j}");
            ulong window = 0;
            for (long b = bitAt >> 3, last = Math.Min(src.Length, (bitAt >> 3) + 8); b < last; b++)
                window |= (ulong)src[(int)b] << (int)(8 * (b - (bitAt >> 3)));
            uint v = (RansDecodeTables.LeadOf(symbol) << width) + ((uint)(window >> (int)(bitAt & 7)) & ((1u << width) - 1));
            bitAt += width;
            int from = (int)(uint)lists[j], length = (int)(lists[j] >> 32) - from;
            if (v - 1 >= (uint)length) throw OutOfRange(where, from == 0, v, firstEntry + j, length, keptCounts, tokens);
            output[j] = ids[from + (int)v - 1];
        }
    }

    /// <summary>The error of a value past its list; a list that starts at the model's ids' first is the rank table.</summary>
    private static StoreCorruptException OutOfRange(
        ColumnLocation where, bool global, uint v, int entry, int length, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens)
    {
        if (global) return where.Corrupt($"rank {v - 1} of entry {entry} is not below the vocabulary size {length}");
        int p = 0;
        for (int before = 0; p < keptCounts.Length && before + keptCounts[p] <= entry; p++) before += keptCounts[p];
        return where.Corrupt($"candidate {v - 1} of entry {entry} is past the {length} of token {tokens[p]}'s list");
    }

    /// <summary>The 8 bytes at <paramref name="at"/>, which the caller has checked are in the column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadWindow(ref byte column, long at)
    {
        ulong window = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref column, (nint)at));
        return BitConverter.IsLittleEndian ? window : BinaryPrimitives.ReverseEndianness(window);
    }

    /// <summary>The row length of a model's tables (<see cref="RansDecodeTables.RowLength"/>), as a type the compiler folds.</summary>
    private interface IRowShape
    {
        static abstract int Length { get; }
    }

    private readonly struct NarrowRows : IRowShape
    {
        public static int Length => RansDecodeTables.LengthOf(RansDecodeTables.NarrowEntries);
    }

    private readonly struct WideRows : IRowShape
    {
        public static int Length => RansDecodeTables.LengthOf(RansDecodeTables.WideEntries);
    }

    /// <summary>Where a pass reads its words: as they come, or clamped to the last word near the column's end.</summary>
    private interface IWordReach
    {
        static abstract nint At(nint wordAt, nint lastWord);
    }

    /// <summary>A batch whose every read (at most <see cref="WordsPerBatch"/> bytes on) lies within the column.</summary>
    private readonly struct WordsAhead : IWordReach
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint At(nint wordAt, nint lastWord) => wordAt;
    }

    private readonly struct WordsClamped : IWordReach
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint At(nint wordAt, nint lastWord) => Math.Min(wordAt, lastWord);
    }
}
