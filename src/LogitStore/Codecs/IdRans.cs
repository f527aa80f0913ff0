using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace LogitStore.Codecs;

/// <summary>
/// The interleaved rANS column of spec 5.10 that the context and banded ids codecs share: four states, 12-bit tables of an
/// <see cref="IdContextModel"/>, 16-bit renormalisation, then the extra bits.
/// </summary>
internal static class IdRans
{
    public const int States = 4;
    public const uint StateLow = 1u << 16;
    public const int HeaderBytes = 4;
    public const int StateBytes = 4 * States;

    /// <summary>
    /// Where an encoder writes the extra bits before <see cref="WriteColumn"/> moves them: past the room of the worst-case
    /// stream of <paramref name="entries"/> entries (two symbols, one word each, per entry).
    /// </summary>
    public static int ExtraBitsScratchOffset(int entries) => HeaderBytes + StateBytes + 4 * entries;

    /// <summary>
    /// rANS-encodes <paramref name="symbols"/> (in decoding order, each in its table of <paramref name="model"/>) last to
    /// first, and lays out the column: the stream, then the <paramref name="bitBytes"/> extra-bit bytes written at
    /// <see cref="ExtraBitsScratchOffset"/>. Returns the column's length.
    /// </summary>
    public static int WriteColumn(
        IdContextModel model, ReadOnlySpan<int> tables, ReadOnlySpan<byte> symbols, int bitBytes, int entries, Span<byte> dest)
    {
        var words = ArrayPool<ushort>.Shared.Rent(symbols.Length + 1);
        try
        {
            Span<uint> x = stackalloc uint[States];
            x.Fill(StateLow);
            var freq = model.Frequencies;
            var cum = model.Cumulative;
            int wordCount = 0;
            for (int i = symbols.Length - 1; i >= 0; i--)
            {
                int at = tables[i] * IdContextModel.Symbols + symbols[i];
                uint f = freq[at];
                if (f == 0) throw new InvalidOperationException(
                    $"the id model cannot code symbol {symbols[i]} in table {tables[i]}");
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
            int bitsFrom = ExtraBitsScratchOffset(entries), bitsTo = HeaderBytes + ransBytes;
            dest.Slice(bitsFrom, bitBytes).CopyTo(dest[bitsTo..]);
            var w = dest[(HeaderBytes + StateBytes)..];
            for (int k = 0; k < wordCount; k++) BinaryPrimitives.WriteUInt16LittleEndian(w[(2 * k)..], words[wordCount - 1 - k]);
            return bitsTo + bitBytes;
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(words);
        }
    }

    /// <summary>Reads a column's header and initial states, checking spec 5.10's rules on them.</summary>
    public static Column Open(ReadOnlySpan<byte> src, ColumnLocation where)
    {
        if (src.Length < HeaderBytes + StateBytes) throw where.Corrupt(
            $"{src.Length} bytes, fewer than the {HeaderBytes + StateBytes} of an empty stream");
        uint ransBytes = BinaryPrimitives.ReadUInt32LittleEndian(src);
        if (ransBytes < StateBytes || ransBytes % 2 != 0 || ransBytes > src.Length - HeaderBytes)
            throw where.Corrupt($"rANS stream length {ransBytes} is odd, below {StateBytes} or past the column's {src.Length} bytes");
        var column = new Column(
            src.Slice(HeaderBytes + StateBytes, (int)ransBytes - StateBytes), src[(HeaderBytes + (int)ransBytes)..]);
        for (int k = 0; k < States; k++)
        {
            column.States[k] = BinaryPrimitives.ReadUInt32LittleEndian(src[(HeaderBytes + 4 * k)..]);
            if (column.States[k] < StateLow) throw where.Corrupt($"initial rANS state {k} ({column.States[k]}) is below 2^16");
        }
        return column;
    }

    /// <summary>
    /// One decoding step of spec 5.10 (steps 1–4) on <paramref name="state"/> with table <paramref name="table"/>; returns
    /// the symbol. The renormalisation is branch-free (the word is read whether or not it is needed); running out of
    /// words sets <paramref name="overrun"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Step(
        ref uint state, int table, ReadOnlySpan<byte> slots, ReadOnlySpan<ushort> freq, ReadOnlySpan<ushort> cum,
        ReadOnlySpan<byte> words, ref int wordAt, ref bool overrun)
    {
        uint s = state, slot = s & (IdContextModel.Total - 1);
        int symbol = slots[(table << IdContextModel.PrecisionBits) + (int)slot];
        int at = table * IdContextModel.Symbols + symbol;
        s = freq[at] * (s >> IdContextModel.PrecisionBits) + slot - cum[at];
        int renormalise = s < StateLow ? 1 : 0;
        bool available = wordAt + 2 <= words.Length;
        uint word = available ? BinaryPrimitives.ReadUInt16LittleEndian(words[wordAt..]) : 0u;
        overrun |= renormalise != 0 && !available;
        state = (s << (16 * renormalise)) | (word & (0u - (uint)renormalise));
        wordAt += 2 * renormalise;
        return symbol;
    }

    /// <summary>The four decoder states, held inline.</summary>
    [InlineArray(States)]
    public struct StateArray
    {
        private uint _first;
    }

    /// <summary>A column opened for decoding: its states, its words and its extra bits.</summary>
    public ref struct Column(ReadOnlySpan<byte> words, ReadOnlySpan<byte> extraBits)
    {
        public StateArray States;
        public readonly ReadOnlySpan<byte> Words = words;
        public readonly ReadOnlySpan<byte> ExtraBits = extraBits;

        /// <summary>Spec 5.10's end checks: every word and extra bit read, the states back at 2^16, zero padding bits.</summary>
        public readonly void CheckEnd(
            ReadOnlySpan<uint> states, int wordAt, int bitAt, int bitCount, ulong bitBuffer, ColumnLocation where)
        {
            if (wordAt != Words.Length) throw where.Corrupt($"{(Words.Length - wordAt) / 2} rANS words are left after the last entry");
            for (int k = 0; k < IdRans.States; k++)
                if (states[k] != StateLow) throw where.Corrupt(
                    $"rANS state {k} ends at {states[k]}, not 2^16: the stream or the model is not the encoder's");
            if (bitAt != ExtraBits.Length) throw where.Corrupt($"{ExtraBits.Length - bitAt} bytes are left after the extra bits");
            if (bitCount >= 8 || (bitBuffer & ((1UL << bitCount) - 1)) != 0)
                throw where.Corrupt("unused bits of the last extra-bits byte are not zero");
        }
    }

    /// <summary>Little-endian bit writer of spec 5.1 over a span.</summary>
    public ref struct BitWriter(Span<byte> dest)
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
