using System.Buffers.Binary;
using LogitStore.Format;
using IdRankFieldOffsets = LogitStore.Format.DictionaryFile.IdRankFieldOffsets;

namespace LogitStore.Codecs;

/// <summary>
/// The id rank table of spec 2.4 (kind 2): a permutation of the vocabulary, most frequent ids first, used by the
/// <see cref="RankedIdCodec"/>.
/// </summary>
internal sealed class IdRankTable
{
    private readonly int[] _idOfRank;
    private readonly int[] _rankOfId;

    public IdRankTable(int[] idOfRank)
    {
        int v = idOfRank.Length;
        if (v < 2) throw new ArgumentException("an id rank table needs at least 2 ids");
        _idOfRank = idOfRank;
        _rankOfId = new int[v];
        Array.Fill(_rankOfId, -1);
        for (int r = 0; r < v; r++)
        {
            int id = idOfRank[r];
            if ((uint)id >= (uint)v || _rankOfId[id] >= 0)
                throw new ArgumentException($"entry {r} ({id}) makes the table not a permutation of [0, {v})");
            _rankOfId[id] = r;
        }
        Span<byte> fields = stackalloc byte[DictionaryFile.KindFieldsSize];
        fields.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(fields[IdRankFieldOffsets.VocabSize..], (uint)v);
        var body = new byte[4 * v];
        for (int r = 0; r < v; r++) BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4 * r), idOfRank[r]);
        var (bytes, parsed) = DictionaryFile.Build(DictionaryKind.IdRankTable, fields, body);
        FileBytes = bytes;
        Ref = parsed.Ref;
    }

    public int VocabSize => _idOfRank.Length;
    public uint Ref { get; }
    public byte[] FileBytes { get; }

    public int RankOf(int id) => _rankOfId[id];

    public int IdOf(int rank) => _idOfRank[rank];

    internal ReadOnlySpan<int> IdsByRank => _idOfRank;

    /// <summary>Most frequent first (ties by ascending id), from <paramref name="counts"/> per id.</summary>
    public static IdRankTable FromCounts(ReadOnlySpan<long> counts)
    {
        var order = new int[counts.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var c = counts.ToArray();
        Array.Sort(order, (a, b) => c[a] != c[b] ? c[b].CompareTo(c[a]) : a.CompareTo(b));
        return new IdRankTable(order);
    }

    internal static IdRankTable FromDictionary(DictionaryFile dict, string file, uint vocabSize)
    {
        if (dict.Kind != DictionaryKind.IdRankTable)
            throw new StoreCorruptException(
                file, DictionaryFile.Offsets.Kind, $"dictionary kind {(byte)dict.Kind} is not an id rank table (2)");
        const int at = DictionaryFile.Offsets.KindFields;
        var f = dict.KindFields.Span;
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(f[IdRankFieldOffsets.VocabSize..]);
        if (v != vocabSize)
            throw new StoreCorruptException(
                file,
                at + IdRankFieldOffsets.VocabSize,
                $"id rank table is for V = {v}, the store's vocabulary is {vocabSize}");
        int nonZero = f[IdRankFieldOffsets.Reserved..].IndexOfAnyExcept((byte)0);
        if (nonZero >= 0)
            throw new StoreCorruptException(
                file, at + IdRankFieldOffsets.Reserved + nonZero, "reserved id rank table fields are not zero");
        var body = dict.Body.Span;
        if ((ulong)body.Length != 4UL * v)
            throw new StoreCorruptException(file, FormatConstants.DictionaryHeaderSize, $"body is {body.Length} bytes, 4·V = {4UL * v}");
        var ids = new int[v];
        var seen = new bool[v];
        for (int r = 0; r < ids.Length; r++)
        {
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(body[(4 * r)..]);
            if (id >= v || seen[id])
                throw new StoreCorruptException(
                    file,
                    FormatConstants.DictionaryHeaderSize + 4L * r,
                    $"entry {r} ({id}) makes the table not a permutation of [0, {v})");
            seen[id] = true;
            ids[r] = (int)id;
        }
        return new IdRankTable(ids);
    }
}
