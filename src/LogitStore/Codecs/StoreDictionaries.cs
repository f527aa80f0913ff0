using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The dictionaries a store lists (spec 2.4), by ref: what a block's <c>codec_param</c> names for the
/// <c>ranked</c>, <c>context</c> and <c>mvq</c> codecs. Immutable once loaded.
/// </summary>
internal sealed class StoreDictionaries
{
    private readonly Dictionary<uint, MvqCodebooks> _codebooks = new();
    private readonly Dictionary<uint, IdRankTable> _rankTables = new();
    private readonly Dictionary<uint, IdContextModel> _idModels = new();
    private readonly Dictionary<uint, string> _damaged = new();

    public static readonly StoreDictionaries Empty = new();

    public IEnumerable<MvqCodebooks> AllCodebooks => _codebooks.Values;
    public IEnumerable<IdRankTable> AllRankTables => _rankTables.Values;
    public IEnumerable<IdContextModel> AllIdModels => _idModels.Values;

    /// <summary>The file of a listed dictionary that could not be loaded (<see cref="LoadIntact"/>), or null.</summary>
    public string? Damaged(uint reference) => _damaged.GetValueOrDefault(reference);

    public MvqCodebooks? Codebooks(uint reference) => _codebooks.GetValueOrDefault(reference);

    public IdRankTable? RankTable(uint reference) => _rankTables.GetValueOrDefault(reference);

    public IdContextModel? IdModel(uint reference) => _idModels.GetValueOrDefault(reference);

    public StoreDictionaries With(MvqCodebooks? codebooks = null, IdRankTable? rankTable = null, IdContextModel? idModel = null)
    {
        var d = new StoreDictionaries();
        foreach (var (k, v) in _codebooks) d._codebooks[k] = v;
        foreach (var (k, v) in _rankTables) d._rankTables[k] = v;
        foreach (var (k, v) in _idModels) d._idModels[k] = v;
        if (codebooks is not null) d._codebooks[codebooks.Ref] = codebooks;
        if (rankTable is not null) d._rankTables[rankTable.Ref] = rankTable;
        if (idModel is not null) d._idModels[idModel.Ref] = idModel;
        return d;
    }

    /// <summary>Loads and checks every dictionary the manifest lists (size, whole-file XXH3, inner checksums, ref).</summary>
    public static StoreDictionaries Load(string directory, Manifest manifest)
    {
        var d = LoadIntact(directory, manifest, out var faults);
        return faults.Count == 0 ? d : throw faults[0];
    }

    /// <summary>
    /// Loads every intact dictionary and names each damaged one in <paramref name="faults"/>, so that only the blocks
    /// that need a damaged dictionary fail (verify, and readers asked to skip damage).
    /// </summary>
    public static StoreDictionaries LoadIntact(string directory, Manifest manifest, out List<StoreCorruptException> faults)
    {
        faults = new List<StoreCorruptException>();
        if (manifest.Dictionaries.Count == 0) return Empty;
        var d = new StoreDictionaries();
        var store = new StoreDirectory(directory);
        foreach (var entry in manifest.Dictionaries)
        {
            try
            {
                d.Add(store.Of(entry.File), entry, manifest.VocabSize);
            }
            catch (StoreCorruptException ex)
            {
                faults.Add(ex);
                d._damaged[DictionaryFile.ParseRef(entry.Ref)] = ex.File;
            }
        }
        return d;
    }

    private void Add(string path, DictionaryEntry entry, uint vocabSize)
    {
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
            case DictionaryKind.MvqCodebooks: _codebooks[dict.Ref] = MvqCodebooks.FromDictionary(dict, path); break;
            case DictionaryKind.IdRankTable: _rankTables[dict.Ref] = IdRankTable.FromDictionary(dict, path, vocabSize); break;
            case DictionaryKind.IdContextModel or DictionaryKind.IdBandModel:
                _idModels[dict.Ref] = IdContextModel.FromDictionary(dict, path, vocabSize);
                break;
        }
    }
}
