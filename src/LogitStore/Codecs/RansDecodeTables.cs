namespace LogitStore.Codecs;

/// <summary>
/// The decoder's view of the id context model's rANS frequency tables (spec 5.10), built from the same frequencies:
/// per table, one row that finds a slot's symbol with two loads and a population count.
/// </summary>
/// <remarks>
/// A row holds the number of starts F[s] up to the end of each 64-slot word (64 bytes); a bitmap of the 4096 slots, 64
/// bits a word, where bit j of word w marks a start at slot 64·w + j + 1 (512 bytes); then, for the table's coded
/// symbols (those with a frequency) in symbol order, one entry each. The symbol of slot r is the coded symbol numbered
/// (starts at or below r) − 1, which is the count up to r's word less the bits of its word from r mod 64 on. A row is
/// about 1 KiB where a slot table would take 4 KiB or more, so that the tables of a thousand contexts mostly stay in the
/// L2 cache. An entry is two uints: 4096 − f[s], then F[s] in the low 16 bits and the symbol (a value class, or the
/// escape) above them (<see cref="SymbolOf"/>), so that a step is x − F[s] − (4096 − f[s])·⌊x / 4096⌋ (spec 5.10, steps
/// 1–2).
/// </remarks>
internal sealed class RansDecodeTables
{
    private const int PrecisionBits = 12;
    private const int Total = 1 << PrecisionBits;
    private const int SymbolShift = 16;
    private const int SlotsPerWord = 64, Words = Total / SlotsPerWord;

    /// <summary>Entries in a row where every table codes at most this many symbols (vocabularies up to 2^17).</summary>
    public const int NarrowEntries = 64;

    /// <summary>Entries in a row otherwise (a table has at most 124 symbols).</summary>
    public const int WideEntries = 128;

    /// <summary>The uints of an entry.</summary>
    public const int EntryLength = 2;

    /// <summary>The uints before a row's entries: the prefix counts (64 bytes), then the bitmap (512 bytes).</summary>
    public const int BeforeEntries = Words / 4 + 2 * Words;

    private const int WidthShift = 8, LeadShift = 13;

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
        RowLength = LengthOf(EntriesPerRow);
        _rows = new uint[tables * RowLength];
        Span<byte> startsIn = stackalloc byte[Words];
        for (int t = 0; t < tables; t++)
        {
            var row = _rows.AsSpan(t * RowLength, RowLength);
            var prefix = row[..(Words / 4)];
            var bitmap = row.Slice(Words / 4, 2 * Words);
            var entries = row[BeforeEntries..];
            startsIn.Clear();
            int k = 0, start = 0;
            for (int s = 0; s < symbols; s++)
            {
                int f = frequencies[t * symbols + s];
                if (f == 0) continue;
                entries[EntryLength * k] = (uint)(Total - f);
                entries[EntryLength * k + 1] = (uint)start | ValueOf(s) << SymbolShift;
                k++;
                int word = start / SlotsPerWord, bit = start % SlotsPerWord;
                startsIn[word]++;
                // The bitmap is read as 64-bit words and the counts as bytes, in the machine's byte order.
                if (bit > 0) bitmap[2 * word + (((bit - 1) >> 5) ^ (BitConverter.IsLittleEndian ? 0 : 1))] |= 1u << ((bit - 1) & 31);
                start += f;
            }
            for (int word = 0, through = 0; word < Words; word++)
            {
                through += startsIn[word];
                prefix[word >> 2] |= (uint)through << (8 * (BitConverter.IsLittleEndian ? word & 3 : 3 - (word & 3)));
            }
        }
    }

    /// <summary><see cref="NarrowEntries"/> or <see cref="WideEntries"/>.</summary>
    public int EntriesPerRow { get; }

    /// <summary>The uints of one table's row: the prefix counts, the bitmap, then the entries.</summary>
    public int RowLength { get; }

    /// <summary>The uints of a row of <paramref name="entries"/> entries.</summary>
    public static int LengthOf(int entries) => BeforeEntries + EntryLength * entries;

    /// <summary>The rows, table after table in the model's order, for <see cref="ContextIdDecoder"/>'s unchecked reads.</summary>
    internal uint[] RowArray => _rows;

    /// <summary>F[s] of an entry's second uint.</summary>
    public static uint StartOf(uint packed) => packed & 0xFFFF;

    /// <summary>
    /// The symbol of an entry's second uint (in the low byte), with what its value class gives a value: the extra-bit
    /// count (5 bits) and the leading bits (3 bits; the class's smallest value is lead·2^width, spec 5.10).
    /// </summary>
    public static uint SymbolOf(uint packed) => packed >> SymbolShift;

    /// <summary>The extra-bit count of a <see cref="SymbolOf"/>.</summary>
    public static int WidthOf(uint symbol) => (int)(symbol >> WidthShift) & 31;

    /// <summary>The smallest value of a <see cref="SymbolOf"/>'s class, shifted right by its width.</summary>
    public static uint LeadOf(uint symbol) => symbol >> LeadShift;

    private static uint ValueOf(int symbol)
    {
        if (symbol == IdContextModel.Escape) return (uint)symbol;
        int width = ValueClass.ExtraBits(symbol);
        return (uint)symbol | (uint)width << WidthShift | ValueClass.Base(symbol) >> width << LeadShift;
    }
}
