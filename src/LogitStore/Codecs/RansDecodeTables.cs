namespace LogitStore.Codecs;

/// <summary>
/// The decoder's view of the id context model's rANS frequency tables (spec 5.10), built from the same frequencies:
/// per table, one row that finds a slot's symbol with two loads and a population count.
/// </summary>
/// <remarks>
/// A row holds the number of starts F[s] below each 64-slot word (64 bytes); a bitmap of the 4096 slots with a bit at
/// each start (512 bytes); then, for the table's coded symbols (those with a frequency) in symbol order, one entry each.
/// The symbol of slot r is the coded symbol numbered (starts at or below r) − 1. A row is about 1 KiB where a
/// slot table would take 4 KiB or more, so that the tables of a thousand contexts mostly stay in the L2 cache. An entry
/// is two uints: the symbol (a value class, or the escape) in the low byte and F[s] above it, then 4096 − f[s], so that a
/// step is x − F[s] − (4096 − f[s])·⌊x / 4096⌋ (spec 5.10, steps 1–2).
/// </remarks>
internal sealed class RansDecodeTables
{
    private const int PrecisionBits = 12;
    private const int Total = 1 << PrecisionBits;
    private const int StartShift = 8;
    private const int SlotsPerWord = 64, Words = Total / SlotsPerWord;

    /// <summary>Entries in a row where every table codes at most this many symbols (vocabularies up to 2^17).</summary>
    public const int NarrowEntries = 64;

    /// <summary>Entries in a row otherwise (a table has at most 124 symbols).</summary>
    public const int WideEntries = 128;

    /// <summary>The uints of an entry.</summary>
    public const int EntryLength = 2;

    /// <summary>The uints before a row's entries: the prefix counts (64 bytes), then the bitmap (512 bytes).</summary>
    public const int BeforeEntries = Words / 4 + 2 * Words;

    /// <summary>The bits of an entry's first uint that hold its symbol.</summary>
    public const uint SymbolMask = 0x7F;

    private readonly uint[] _rows;

    /// <summary>
    /// Rows for the tables of <paramref name="frequencies"/>, <see cref="IdContextModel.Symbols"/> each, the first
    /// <see cref="IdContextModel.Groups"/> global, every one summing to 4096 (the caller has checked).
    /// </summary>
    public RansDecodeTables(ReadOnlySpan<ushort> frequencies)
    {
        const int symbols = IdContextModel.Symbols;
        int tables = frequencies.Length / symbols, widest = 0;
        for (int t = 0; t < tables; t++)
            widest = Math.Max(widest, symbols - frequencies.Slice(t * symbols, symbols).Count((ushort)0));
        EntriesPerRow = widest <= NarrowEntries ? NarrowEntries : WideEntries;
        RowLength = BeforeEntries + EntryLength * EntriesPerRow;
        _rows = new uint[tables * RowLength];
        for (int t = 0; t < tables; t++)
        {
            var row = _rows.AsSpan(t * RowLength, RowLength);
            var prefix = row[..(Words / 4)];
            var bitmap = row.Slice(Words / 4, 2 * Words);
            var entries = row[BeforeEntries..];
            int k = 0, start = 0;
            for (int s = 0; s < symbols; s++)
            {
                int f = frequencies[t * symbols + s];
                if (f == 0) continue;
                entries[EntryLength * k] = (uint)s | (uint)start << StartShift;
                entries[EntryLength * k + 1] = (uint)(Total - f);
                k++;
                int word = start / SlotsPerWord, bit = start % SlotsPerWord;
                // The bitmap is read as 64-bit words and the counts as bytes, in the machine's byte order.
                bitmap[2 * word + ((bit >> 5) ^ (BitConverter.IsLittleEndian ? 0 : 1))] |= 1u << (bit & 31);
                for (int later = word + 1; later < Words; later++)
                    prefix[later >> 2] += 1u << (8 * (BitConverter.IsLittleEndian ? later & 3 : 3 - (later & 3)));
                start += f;
            }
        }
    }

    /// <summary><see cref="NarrowEntries"/> or <see cref="WideEntries"/>.</summary>
    public int EntriesPerRow { get; }

    /// <summary>The uints of one table's row: the prefix counts, the bitmap, then the entries.</summary>
    public int RowLength { get; }

    /// <summary>The rows, table after table in the model's order, for <see cref="ContextIdDecoder"/>'s unchecked reads.</summary>
    internal uint[] RowArray => _rows;

    /// <summary>F[s] of an entry's first uint.</summary>
    public static uint StartOf(uint entry) => entry >> StartShift;
}
