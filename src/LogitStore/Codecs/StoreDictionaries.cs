using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The dictionaries a store lists (spec 2.4), by ref: what a block's <c>codec_param</c> names for the
/// <c>ranked</c> and <c>mvq</c> codecs. Immutable once loaded.
/// </summary>
public sealed class StoreDictionaries
{
    private readonly Dictionary<uint, MvqCodebooks> _codebooks = new();
    private readonly Dictionary<uint, IdRankTable> _rankTables = new();

    public static readonly StoreDictionaries Empty = new();

    public IEnumerable<MvqCodebooks> AllCodebooks => _codebooks.Values;
    public IEnumerable<IdRankTable> AllRankTables => _rankTables.Values;

    public MvqCodebooks? Codebooks(uint reference) => _codebooks.GetValueOrDefault(reference);

    public IdRankTable? RankTable(uint reference) => _rankTables.GetValueOrDefault(reference);

    public StoreDictionaries With(MvqCodebooks? codebooks = null, IdRankTable? rankTable = null)
    {
        var d = new StoreDictionaries();
        foreach (var (k, v) in _codebooks) d._codebooks[k] = v;
        foreach (var (k, v) in _rankTables) d._rankTables[k] = v;
        if (codebooks is not null) d._codebooks[codebooks.Ref] = codebooks;
        if (rankTable is not null) d._rankTables[rankTable.Ref] = rankTable;
        return d;
    }

    /// <summary>Loads and checks every dictionary the manifest lists (size, whole-file XXH3, inner checksums, ref).</summary>
    public static StoreDictionaries Load(string directory, Manifest manifest)
    {
        if (manifest.Dictionaries.Count == 0) return Empty;
        var d = new StoreDictionaries();
        foreach (var entry in manifest.Dictionaries)
        {
            string path = new StoreDirectory(directory).Of(entry.File);
            if (!File.Exists(path)) throw new StoreCorruptException(path, 0, "dictionary file listed in the manifest is missing");
            long length = new FileInfo(path).Length;
            if ((ulong)length != entry.Bytes)
                throw new StoreCorruptException(
                    path, Math.Min(length, (long)entry.Bytes), $"dictionary file is {length} bytes, the manifest says {entry.Bytes}");
            var dict = DictionaryFile.Read(path);
            if (Checksum.ToHex(dict.FileChecksum) != entry.Xxh3)
                throw new StoreCorruptException(
                    path, 0, $"dictionary file XXH3 {Checksum.ToHex(dict.FileChecksum)} differs from the manifest's {entry.Xxh3}");
            if (DictionaryFile.RefHex(dict.Ref) != entry.Ref)
                throw new StoreCorruptException(
                    path,
                    DictionaryFile.Offsets.HeaderChecksum,
                    $"dictionary ref {DictionaryFile.RefHex(dict.Ref)} differs from the manifest's {entry.Ref}");
            switch (dict.Kind)
            {
                case DictionaryKind.MvqCodebooks: d._codebooks[dict.Ref] = MvqCodebooks.FromDictionary(dict, path); break;
                case DictionaryKind.IdRankTable:
                    d._rankTables[dict.Ref] = IdRankTable.FromDictionary(dict, path, manifest.VocabSize);
                    break;
            }
        }
        return d;
    }
}
