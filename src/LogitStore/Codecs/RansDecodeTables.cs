namespace LogitStore.Codecs;

/// <summary>
/// The decoder's view of the id context model's rANS frequency tables (spec 5.10), built from the same frequencies:
/// per table, one row that finds a slot's symbol with two loads and a population count.
/// </summary>
/// <remarks>
/// A row holds, for the table's coded symbols (those with a frequency) in symbol order, one packed entry each; then the
/// number of starts F[s] below each 64-slot word (64 bytes); then a bitmap of the 4096 slots with a bit at each start
/// (512 bytes). The symbol of slot r is the coded symbol numbered (starts at or below r) − 1. A row is under 1 KiB where
/// a slot table would take 4 KiB or more, so that the tables of a thousand contexts mostly stay in the L2 cache.
/// An entry packs the symbol (7 bits: a value class, or the escape), whether its table is a global one (1 bit), F[s]
/// (12 bits) and 4096 − f[s] (12 bits), so that a step is x − F[s] − (4096 − f[s])·⌊x / 4096⌋ (spec 5.10, steps 1–2).
/// </remarks>
internal sealed class RansDecodeTables
{
    private const int PrecisionBits = 12;
    private const int Total = 1 << PrecisionBits;
    private const int StartShift = 8, ComplementShift = StartShift + PrecisionBits;
    private const int SlotsPerWord = 64, Words = Total / SlotsPerWord;

    /// <summary>Entries in a row where every table codes at most this many symbols (vocabularies up to 2^17).</summary>
    public const int NarrowEntries = 64;

    /// <summary>Entries in a row otherwise (a table has at most 124 symbols).</summary>
    public const int WideEntries = 128;

    /// <summary>The uints after a row's entries: the prefix counts (64 bytes), then the bitmap (512 bytes).</summary>
    public const int AfterEntries = Words / 4 + 2 * Words;

    /// <summary>The bit of an entry that marks a global table's.</summary>
    public const uint Global = 1u << 7;

    /// <summary>The bits of an entry that hold its symbol.</summary>
    public const uint SymbolMask = Global - 1;

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
        RowLength = EntriesPerRow + AfterEntries;
        _rows = new uint[tables * RowLength];
        for (int t = 0; t < tables; t++)
        {
            var row = _rows.AsSpan(t * RowLength, RowLength);
            var prefix = row.Slice(EntriesPerRow, Words / 4);
            var bitmap = row[(EntriesPerRow + Words / 4)..];
            int k = 0, start = 0;
            for (int s = 0; s < symbols; s++)
            {
                int f = frequencies[t * symbols + s];
                if (f == 0) continue;
                row[k++] = Pack(s, f, start, global: t < IdContextModel.Groups);
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

    /// <summary>The uints of one table's row.</summary>
    public int RowLength { get; }

    /// <summary>The rows, table after table in the model's order, for <see cref="ContextIdDecoder"/>'s unchecked reads.</summary>
    internal uint[] RowArray => _rows;

    private static uint Pack(int symbol, int frequency, int start, bool global) =>
        (uint)symbol | (global ? Global : 0) | (uint)start << StartShift | (uint)(Total - frequency) << ComplementShift;

    /// <summary>F[s] of an entry.</summary>
    public static uint StartOf(uint entry) => (entry >> StartShift) & (Total - 1);

    /// <summary>4096 − f[s] of an entry.</summary>
    public static uint ComplementOf(uint entry) => entry >> ComplementShift;
}
