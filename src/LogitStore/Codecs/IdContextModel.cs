using System.Buffers.Binary;
using LogitStore.Format;
using BandFields = LogitStore.Format.DictionaryFile.IdBandFieldOffsets;
using Fields = LogitStore.Format.DictionaryFile.IdContextFieldOffsets;

namespace LogitStore.Codecs;

/// <summary>
/// The id context model of spec 2.4 that the <see cref="ContextIdCodec"/> (kind 3, spec 5.10) and the
/// <see cref="BandedIdCodec"/> (kind 4, the id band model, spec 5.11) code ids under: a global rank table, candidate
/// lists keyed by input token, and one frequency table per context and entry group (kind 3's three groups, or kind 4's
/// bands).
/// </summary>
internal sealed class IdContextModel
{
    /// <summary>Symbols of a table: the value classes 0 … 122 and the escape.</summary>
    public const int Symbols = 124;
    public const int Escape = 123;
    public const int Groups = 3;

    /// <summary>Most bands an id band model has (spec 2.4, kind 4).</summary>
    public const int MaxBands = 128;

    /// <summary>Band starts stay below this (an entry index is a u16, spec 4.3).</summary>
    public const int BandStartLimit = 65536;
    public const int PrecisionBits = 12;
    public const int Total = 1 << PrecisionBits;

    // The rank table, then every context's candidates: one array, so that the decoder reads an id from either at one base.
    private readonly int[] _ids;
    private readonly int[] _rankOfId;
    private readonly int[] _contextTokens;
    private readonly int[] _contextOfToken;
    private readonly int[] _candidateStart;
    private readonly ushort[] _frequencies;
    private readonly ushort[] _cumulative;
    private readonly RansDecodeTables? _decodeTables;
    private readonly Lazy<byte[]> _slotSymbols;
    private readonly Lazy<Dictionary<long, int>> _candidateIndex;
    private readonly int[] _bandStarts;

    /// <summary>
    /// A model from its arrays (spec 2.4): <paramref name="frequencies"/> holds the global tables, then each context's,
    /// one per group × <see cref="Symbols"/>. Without <paramref name="bandStarts"/> it is a kind 3 id context model (the
    /// three groups of spec 5.10); with them, a kind 4 id band model whose bands from <paramref name="setFrom"/> on are
    /// coded as sets (spec 5.11). Throws <see cref="ArgumentException"/> on any rule of the spec it breaks.
    /// </summary>
    public IdContextModel(
        int[] idOfRank, int[] contextTokens, int[][] candidateLists, ushort[] frequencies, int[]? bandStarts = null, int setFrom = 0)
    {
        int v = idOfRank.Length;
        if (v < 2) throw new ArgumentException("an id context model needs a vocabulary of at least 2 ids");
        Kind = bandStarts is null ? DictionaryKind.IdContextModel : DictionaryKind.IdBandModel;
        _bandStarts = bandStarts ?? [0, 1, 8];
        SetFrom = bandStarts is null ? Groups : setFrom;
        if (BandError(_bandStarts, SetFrom) is { } bandError) throw new ArgumentException(bandError);
        int c = contextTokens.Length;
        if (candidateLists.Length != c) throw new ArgumentException("one candidate list per context");
        if (frequencies.Length != BandCount * Symbols * (1 + c)) throw new ArgumentException("one frequency table per context and group");
        _rankOfId = new int[v];
        Array.Fill(_rankOfId, -1);
        for (int r = 0; r < v; r++)
        {
            if ((uint)idOfRank[r] >= (uint)v || _rankOfId[idOfRank[r]] >= 0)
                throw new ArgumentException($"rank table entry {r} ({idOfRank[r]}) makes it not a permutation of [0, {v})");
            _rankOfId[idOfRank[r]] = r;
        }
        _contextTokens = contextTokens;
        _contextOfToken = new int[v];
        Array.Fill(_contextOfToken, -1);
        _candidateStart = new int[c + 1];
        long n = 0;
        for (int k = 0; k < c; k++)
        {
            if ((uint)contextTokens[k] >= (uint)v || (k > 0 && contextTokens[k] <= contextTokens[k - 1]))
                throw new ArgumentException($"context {k}: token {contextTokens[k]} is not ascending or not below {v}");
            _contextOfToken[contextTokens[k]] = k;
            if (candidateLists[k].Length is 0 || candidateLists[k].Length > v)
                throw new ArgumentException($"context {k}: {candidateLists[k].Length} candidates, not in [1, {v}]");
            n += candidateLists[k].Length;
            if (n > int.MaxValue / 8) throw new ArgumentException("too many candidates");
            _candidateStart[k + 1] = (int)n;
        }
        _ids = new int[v + n];
        idOfRank.CopyTo(_ids, 0);
        var seen = new HashSet<int>();
        for (int k = 0; k < c; k++)
        {
            seen.Clear();
            foreach (int id in candidateLists[k])
                if ((uint)id >= (uint)v || !seen.Add(id))
                    throw new ArgumentException($"context {k}: candidate {id} is a repeat or not below {v}");
            candidateLists[k].CopyTo(_ids, v + _candidateStart[k]);
        }
        int tables = BandCount * (1 + c);
        _frequencies = frequencies;
        _cumulative = new ushort[frequencies.Length];
        for (int t = 0; t < tables; t++)
        {
            int sum = 0;
            for (int s = 0; s < Symbols; s++)
            {
                _cumulative[t * Symbols + s] = (ushort)Math.Min(sum, Total);
                sum += frequencies[t * Symbols + s];
            }
            if (sum != Total) throw new ArgumentException($"frequency table {t} sums to {sum}, not {Total}");
            if (t < BandCount && frequencies[t * Symbols + Escape] != 0)
                throw new ArgumentException($"global table {t} gives the escape a frequency");
        }
        // The context codec's decoder reads its rows (kind 3); the banded codec's reads a slot table per table (kind 4).
        _decodeTables = Kind == DictionaryKind.IdContextModel ? new RansDecodeTables(frequencies) : null;
        _slotSymbols = new Lazy<byte[]>(BuildSlotSymbols);
        (FileBytes, Ref) = Serialise();
        _candidateIndex = new Lazy<Dictionary<long, int>>(BuildCandidateIndex);
    }

    /// <summary>Kind 3 (an id context model, spec 5.10) or kind 4 (an id band model, spec 5.11).</summary>
    public DictionaryKind Kind { get; }

    /// <summary>Entry groups: the three of kind 3, or the bands of kind 4.</summary>
    public int BandCount => _bandStarts.Length;

    /// <summary>The first band coded as a set (<see cref="BandCount"/>: none is; always so for kind 3).</summary>
    public int SetFrom { get; }

    /// <summary>The first entry index of each band.</summary>
    public ReadOnlySpan<int> BandStarts => _bandStarts;

    /// <summary>The table of band <paramref name="band"/> in context <paramref name="context"/> (−1: the global table).</summary>
    public int BandTable(int context, int band) => BandCount * (context + 1) + band;

    public int VocabSize => _ids.Length - _candidateStart[^1];
    public int ContextCount => _contextTokens.Length;
    public int CandidateCount => _candidateStart[^1];
    public uint Ref { get; }
    public byte[] FileBytes { get; }

    internal ReadOnlySpan<int> IdsByRank => _ids.AsSpan(0, VocabSize);
    internal ReadOnlySpan<int> ContextOfToken => _contextOfToken;
    internal ReadOnlySpan<int> CandidateStart => _candidateStart;
    internal ReadOnlySpan<int> Candidates => _ids.AsSpan(VocabSize);

    /// <summary>The rank table followed by the candidates (context k's list from <see cref="VocabSize"/> + its start).</summary>
    internal int[] RanksThenCandidates => _ids;
    internal ReadOnlySpan<ushort> Frequencies => _frequencies;
    internal ReadOnlySpan<ushort> Cumulative => _cumulative;
    internal RansDecodeTables DecodeTables =>
        _decodeTables ?? throw new InvalidOperationException("an id band model has no context decoder tables");

    /// <summary>The symbol of each of a table's 4096 slots, table after table (the banded codec's decoder).</summary>
    internal ReadOnlySpan<byte> SlotSymbols => _slotSymbols.Value;

    private byte[] BuildSlotSymbols()
    {
        int tables = _frequencies.Length / Symbols;
        var slots = new byte[(long)tables * Total];
        for (int t = 0; t < tables; t++)
            for (int s = 0, sum = 0; s < Symbols; sum += _frequencies[t * Symbols + s], s++)
                slots.AsSpan(t * Total + sum, _frequencies[t * Symbols + s]).Fill((byte)s);
        return slots;
    }

    public int RankOf(int id) => _rankOfId[id];

    /// <summary>The context of input token <paramref name="token"/>, or −1 when it has none.</summary>
    public int ContextOf(int token) => _contextOfToken[token];

    /// <summary>The index of <paramref name="id"/> in context <paramref name="context"/>'s list, or −1.</summary>
    public int CandidateIndex(int context, int id) =>
        _candidateIndex.Value.TryGetValue(((long)context << 32) | (uint)id, out int i) ? i : -1;

    /// <summary>The table of group <paramref name="group"/> in context <paramref name="context"/> (−1: the global table).</summary>
    public static int TableOf(int context, int group) => Groups * (context + 1) + group;

    /// <summary>Entry group of spec 5.10: the first entry of a position, entries 1–7, then the rest.</summary>
    public static int GroupOf(int entryIndex) => entryIndex == 0 ? 0 : entryIndex < 8 ? 1 : 2;

    private Dictionary<long, int> BuildCandidateIndex()
    {
        var index = new Dictionary<long, int>(CandidateCount);
        var candidates = Candidates;
        for (int k = 0; k < _contextTokens.Length; k++)
            for (int i = _candidateStart[k]; i < _candidateStart[k + 1]; i++)
                index[((long)k << 32) | (uint)candidates[i]] = i - _candidateStart[k];
        return index;
    }

    private (byte[] Bytes, uint Ref) Serialise()
    {
        int v = VocabSize, c = ContextCount;
        bool banded = Kind == DictionaryKind.IdBandModel;
        Span<byte> fields = stackalloc byte[DictionaryFile.KindFieldsSize];
        fields.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(fields[Fields.VocabSize..], (uint)v);
        BinaryPrimitives.WriteUInt32LittleEndian(fields[Fields.ContextCount..], (uint)c);
        BinaryPrimitives.WriteUInt32LittleEndian(fields[Fields.CandidateCount..], (uint)CandidateCount);
        if (banded)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(fields[BandFields.BandCount..], (uint)BandCount);
            BinaryPrimitives.WriteUInt32LittleEndian(fields[BandFields.SetFrom..], (uint)SetFrom);
        }
        var body = new byte[BodyLength(v, c, CandidateCount, BandCount, banded)];
        var w = body.AsSpan();
        foreach (int id in IdsByRank) { BinaryPrimitives.WriteInt32LittleEndian(w, id); w = w[4..]; }
        if (banded)
            foreach (int start in _bandStarts) { BinaryPrimitives.WriteInt32LittleEndian(w, start); w = w[4..]; }
        for (int i = 0; i < BandCount * Symbols; i++) { BinaryPrimitives.WriteUInt16LittleEndian(w, _frequencies[i]); w = w[2..]; }
        for (int k = 0; k < c; k++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(w, _contextTokens[k]);
            BinaryPrimitives.WriteInt32LittleEndian(w[4..], _candidateStart[k + 1] - _candidateStart[k]);
            w = w[8..];
        }
        for (int i = BandCount * Symbols; i < _frequencies.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(w, _frequencies[i]);
            w = w[2..];
        }
        foreach (int id in Candidates) { BinaryPrimitives.WriteInt32LittleEndian(w, id); w = w[4..]; }
        var (bytes, parsed) = DictionaryFile.Build(Kind, fields, body);
        return (bytes, parsed.Ref);
    }

    /// <summary>Spec 2.4's body length: kind 3 (<paramref name="banded"/> false, three groups) or kind 4 with B bands.</summary>
    private static long BodyLength(long v, long c, long n, long bands, bool banded) =>
        4 * v + (banded ? 4 * bands : 0) + 2 * Symbols * bands * (1 + c) + 8 * c + 4 * n;

    /// <summary>What breaks spec 2.4's rules on bands (kind 4), or null.</summary>
    private static string? BandError(ReadOnlySpan<int> starts, int setFrom)
    {
        if (starts.Length is < 1 or > MaxBands) return $"{starts.Length} bands, not in [1, {MaxBands}]";
        if (starts[0] != 0) return $"the first band starts at {starts[0]}, not 0";
        for (int b = 1; b < starts.Length; b++)
            if (starts[b] <= starts[b - 1] || starts[b] >= BandStartLimit)
                return $"band {b} starts at {starts[b]}: not after band {b - 1}'s start or not below {BandStartLimit}";
        return setFrom < 1 || setFrom > starts.Length ? $"set_from {setFrom} is not in [1, {starts.Length}]" : null;
    }

    /// <summary>Reads a kind 3 dictionary, checking every rule of spec 2.4; errors name the file and the offset at fault.</summary>
    internal static IdContextModel FromDictionary(DictionaryFile dict, string file, uint vocabSize)
    {
        if (dict.Kind is not (DictionaryKind.IdContextModel or DictionaryKind.IdBandModel))
            throw new StoreCorruptException(
                file, DictionaryFile.Offsets.Kind, $"dictionary kind {(byte)dict.Kind} is not an id context or band model (3, 4)");
        bool banded = dict.Kind == DictionaryKind.IdBandModel;
        const int at = DictionaryFile.Offsets.KindFields;
        const int bodyAt = FormatConstants.DictionaryHeaderSize;
        var f = dict.KindFields.Span;
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(f[Fields.VocabSize..]);
        uint c = BinaryPrimitives.ReadUInt32LittleEndian(f[Fields.ContextCount..]);
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(f[Fields.CandidateCount..]);
        if (v != vocabSize)
            throw new StoreCorruptException(
                file, at + Fields.VocabSize, $"id context model is for V = {v}, the store's vocabulary is {vocabSize}");
        if (c > v) throw new StoreCorruptException(file, at + Fields.ContextCount, $"{c} contexts, more than V = {v}");
        if ((ulong)n > (ulong)c * v || n > int.MaxValue / 8)
            throw new StoreCorruptException(file, at + Fields.CandidateCount, $"{n} candidates, more than C·V = {(ulong)c * v}");
        uint bands = banded ? BinaryPrimitives.ReadUInt32LittleEndian(f[BandFields.BandCount..]) : Groups;
        uint setFrom = banded ? BinaryPrimitives.ReadUInt32LittleEndian(f[BandFields.SetFrom..]) : Groups;
        if (bands is < 1 or > MaxBands)
            throw new StoreCorruptException(file, at + BandFields.BandCount, $"{bands} bands, not in [1, {MaxBands}]");
        if (setFrom < 1 || setFrom > bands)
            throw new StoreCorruptException(file, at + BandFields.SetFrom, $"set_from {setFrom} is not in [1, B = {bands}]");
        int reservedAt = banded ? BandFields.Reserved : Fields.Reserved;
        int nonZero = f[reservedAt..].IndexOfAnyExcept((byte)0);
        if (nonZero >= 0) throw new StoreCorruptException(
            file, at + reservedAt + nonZero, $"reserved {DictionaryFile.KindName(dict.Kind)} model fields are not zero");
        var body = dict.Body.Span;
        long expected = BodyLength(v, c, n, bands, banded);
        if (body.Length != expected)
            throw new StoreCorruptException(
                file, DictionaryFile.Offsets.BodyLength, $"body is {body.Length} bytes, spec 2.4 gives {expected}");

        var idOfRank = new int[v];
        var seen = new bool[v];
        for (int r = 0; r < v; r++)
        {
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(body[(4 * r)..]);
            if (id >= v || seen[id])
                throw new StoreCorruptException(
                    file, bodyAt + 4L * r, $"rank table entry {r} ({id}) makes it not a permutation of [0, {v})");
            seen[id] = true;
            idOfRank[r] = (int)id;
        }
        int startsAt = 4 * (int)v, globalAt = startsAt + (banded ? 4 * (int)bands : 0);
        int[]? starts = null;
        if (banded)
        {
            starts = new int[bands];
            for (int b = 0; b < bands; b++)
            {
                uint start = BinaryPrimitives.ReadUInt32LittleEndian(body[(startsAt + 4 * b)..]);
                if (start >= BandStartLimit || (b == 0 ? start != 0 : start <= starts[b - 1]))
                    throw new StoreCorruptException(
                        file, bodyAt + startsAt + 4 * b,
                        $"band {b} starts at {start}: band 0 must start at 0, and each later one after the one before and " +
                        $"below {BandStartLimit}");
                starts[b] = (int)start;
            }
        }
        int tablesBytes = 2 * Symbols * (int)bands;
        int directoryAt = globalAt + tablesBytes, contextTablesAt = directoryAt + 8 * (int)c;
        int candidatesAt = contextTablesAt + tablesBytes * (int)c;
        var frequencies = new ushort[bands * Symbols * (1 + c)];
        for (int t = 0; t < bands * (1 + c); t++)
        {
            int tableAt = t < bands ? globalAt + 2 * Symbols * t : contextTablesAt + 2 * Symbols * (t - (int)bands);
            int sum = 0;
            for (int s = 0; s < Symbols; s++)
            {
                int fs = BinaryPrimitives.ReadUInt16LittleEndian(body[(tableAt + 2 * s)..]);
                frequencies[t * Symbols + s] = (ushort)fs;
                sum += fs;
            }
            if (sum != Total)
                throw new StoreCorruptException(file, bodyAt + tableAt, $"frequency table {t} sums to {sum}, not {Total}");
            if (t < bands && frequencies[t * Symbols + Escape] != 0)
                throw new StoreCorruptException(
                    file, bodyAt + tableAt + 2 * Escape, $"global frequency table {t} gives the escape symbol a frequency");
        }
        var tokens = new int[c];
        var lists = new int[c][];
        long listed = 0;
        var inList = new HashSet<uint>();
        for (int k = 0; k < c; k++)
        {
            int entryAt = directoryAt + 8 * k;
            uint token = BinaryPrimitives.ReadUInt32LittleEndian(body[entryAt..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(body[(entryAt + 4)..]);
            if (token >= v || (k > 0 && token <= (uint)tokens[k - 1]))
                throw new StoreCorruptException(
                    file, bodyAt + entryAt, $"context {k}: token {token} is not ascending or not below V = {v}");
            if (count == 0 || count > v || listed + count > n)
                throw new StoreCorruptException(
                    file, bodyAt + entryAt + 4, $"context {k}: {count} candidates, not in [1, V] or past the N = {n} listed");
            tokens[k] = (int)token;
            lists[k] = new int[count];
            inList.Clear();
            for (int i = 0; i < count; i++)
            {
                long candidateAt = candidatesAt + 4 * (listed + i);
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(body[(int)candidateAt..]);
                if (id >= v || !inList.Add(id))
                    throw new StoreCorruptException(
                        file, bodyAt + candidateAt, $"context {k}: candidate {id} is a repeat or not below V = {v}");
                lists[k][i] = (int)id;
            }
            listed += count;
        }
        if (listed != n)
            throw new StoreCorruptException(file, at + Fields.CandidateCount, $"N = {n}, the contexts list {listed} candidates");
        return new IdContextModel(idOfRank, tokens, lists, frequencies, starts, (int)setFrom);
    }

    /// <summary>
    /// Scales <paramref name="counts"/> to frequencies summing to <see cref="Total"/>: each floored, every symbol in
    /// <paramref name="required"/> at least 1, the rounding difference on the largest (spec 5.10, the writer's model).
    /// </summary>
    public static void Normalise(ReadOnlySpan<long> counts, ReadOnlySpan<bool> required, Span<ushort> frequencies)
    {
        long total = 0;
        for (int s = 0; s < Symbols; s++) total += counts[s];
        int sum = 0, largest = -1;
        for (int s = 0; s < Symbols; s++)
        {
            long f = total == 0 ? 0 : counts[s] * Total / total;
            if (f == 0 && (required[s] || counts[s] > 0)) f = 1;
            if (f == 0 && total == 0 && required[s]) f = 1;
            frequencies[s] = (ushort)f;
            sum += (int)f;
            if (largest < 0 || f > frequencies[largest]) largest = s;
        }
        if (sum == 0) throw new ArgumentException("a frequency table needs at least one symbol");
        int diff = Total - sum;
        while (diff != 0)
        {
            int take = diff > 0 ? diff : Math.Max(diff, 1 - frequencies[largest]);
            frequencies[largest] = (ushort)(frequencies[largest] + take);
            diff -= take;
            if (diff == 0) break;
            largest = -1;
            for (int s = 0; s < Symbols; s++)
                if (frequencies[s] > 1 && (largest < 0 || frequencies[s] > frequencies[largest])) largest = s;
            if (largest < 0) throw new ArgumentException($"more than {Total} symbols are required");
        }
    }
}
