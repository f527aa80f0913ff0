namespace LogitStore.Format;

/// <summary>
/// The files a store owns (spec 1, 2.5): <c>manifest.json</c>, <c>shards/</c> and <c>dictionaries/</c>. It names them,
/// creates and replaces a store's layout, removes what no commit lists, and commits the manifest. Writers, the merger,
/// dictionaries, readers and verify reach a store's files only through it.
/// </summary>
public sealed class StoreDirectory
{
    public StoreDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
    }

    public string Path { get; }

    public string ManifestPath => Of(FormatConstants.ManifestFileName);

    public string ShardsPath => Of(FormatConstants.ShardDirectory);

    public string DictionariesPath => Of(FormatConstants.DictionaryDirectory);

    /// <summary>True when a manifest, partial or complete, is there.</summary>
    public bool HoldsStore => File.Exists(ManifestPath);

    /// <summary>
    /// True when a committed store is there: its manifest reads and says complete. A pack that was interrupted (a
    /// partial manifest) or a damaged manifest is not one; whoever would reuse the store packs it again or resumes it.
    /// </summary>
    public bool HoldsCompleteStore
    {
        get
        {
            if (!HoldsStore) return false;
            try
            {
                return Manifest.Load(Path).IsComplete;
            }
            catch (StoreCorruptException)
            {
                return false;
            }
        }
    }

    /// <summary>The path of a file the manifest names relative to the store (a shard's or a dictionary's <c>file</c>).</summary>
    public string Of(string relativeFile) => System.IO.Path.Combine(Path, relativeFile);

    /// <summary>The relative name of the shard with the given index (spec 2.3).</summary>
    public static string ShardName(int index) => FormatConstants.ShardFileName(index);

    /// <summary>The relative name of a dictionary file (spec 2.4).</summary>
    public static string DictionaryName(DictionaryKind kind, uint reference) =>
        $"{FormatConstants.DictionaryDirectory}/{DictionaryFile.KindName(kind)}-{DictionaryFile.RefHex(reference)}" +
        FormatConstants.DictionaryExtension;

    public Manifest LoadManifest() => Manifest.Load(Path);

    /// <summary>
    /// Lays out an empty store: refuses a directory that holds one unless <paramref name="overwrite"/>, in which case
    /// the old manifest goes first (so a crash midway leaves no store rather than a damaged one), then its files.
    /// </summary>
    public void Create(bool overwrite)
    {
        if (HoldsStore)
        {
            if (!overwrite) throw new StoreExistsException(Path);
            Remove();
        }
        Directory.CreateDirectory(ShardsPath);
    }

    /// <summary>
    /// Removes the store's files, the manifest first (so a crash midway leaves no store rather than a damaged one); the
    /// directory and any file the store does not own stay.
    /// </summary>
    public void Remove()
    {
        File.Delete(ManifestPath);
        File.Delete(ManifestPath + FormatConstants.TempSuffix);
        if (Directory.Exists(ShardsPath)) Directory.Delete(ShardsPath, recursive: true);
        if (Directory.Exists(DictionariesPath)) Directory.Delete(DictionariesPath, recursive: true);
    }

    /// <summary>Files under <c>shards/</c> and <c>dictionaries/</c> that the manifest does not list (temporary ones included).</summary>
    public IEnumerable<string> UnlistedFiles(Manifest manifest)
    {
        var listed = new HashSet<string>(
            manifest.Shards.Select(s => s.File).Concat(manifest.Dictionaries.Select(d => d.File))
                .Select(f => System.IO.Path.GetFullPath(Of(f))));
        return new[] { ShardsPath, DictionariesPath }.Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .Where(f => !listed.Contains(System.IO.Path.GetFullPath(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Removes every shard and dictionary file the manifest does not list, and every temporary file a crashed write
    /// left (spec 2.5): what is left is exactly the last commit.
    /// </summary>
    public void RemoveUncommitted(Manifest manifest)
    {
        foreach (string f in UnlistedFiles(manifest)) File.Delete(f);
        string tmpManifest = ManifestPath + FormatConstants.TempSuffix;
        if (File.Exists(tmpManifest)) File.Delete(tmpManifest);
    }

    /// <summary>Recomputes the manifest's totals and replaces <c>manifest.json</c> atomically and durably: the commit point.</summary>
    public void Commit(Manifest manifest)
    {
        manifest.RecomputeTotals();
        Storage.DurableFile.WriteAtomic(ManifestPath, manifest.ToUtf8());
    }

    /// <summary>Writes a dictionary file durably (before any shard refers to it) and returns its manifest entry.</summary>
    public DictionaryEntry WriteDictionary(DictionaryKind kind, byte[] fileBytes, uint reference)
    {
        string name = DictionaryName(kind, reference);
        Directory.CreateDirectory(DictionariesPath);
        Storage.DurableFile.WriteAtomic(Of(name), fileBytes);
        return new DictionaryEntry
        {
            File = name,
            Kind = DictionaryFile.KindName(kind),
            Ref = DictionaryFile.RefHex(reference),
            Bytes = (ulong)fileBytes.Length,
            Xxh3 = Checksum.ToHex(Checksum.Of(fileBytes)),
        };
    }

    /// <summary>
    /// Copies a dictionary file another store lists, under the same name (merge); refuses bytes whose length or XXH3-64
    /// differs from what that store's manifest records.
    /// </summary>
    public void CopyDictionary(StoreDirectory from, DictionaryEntry entry)
    {
        string source = from.Of(entry.File);
        byte[] bytes = File.ReadAllBytes(source);
        string actual = Checksum.ToHex(Checksum.Of(bytes));
        if ((ulong)bytes.Length != entry.Bytes || actual != entry.Xxh3)
            throw new StoreCorruptException(source, 0,
                $"{bytes.Length} bytes with XXH3-64 {actual}; the manifest records {entry.Bytes} bytes with {entry.Xxh3}");
        Directory.CreateDirectory(DictionariesPath);
        Storage.DurableFile.WriteAtomic(Of(entry.File), bytes);
    }

    /// <summary>Bytes of every file under <c>shards/</c>, committed or not (what verify will read at most).</summary>
    public long ShardBytesOnDisk() =>
        Directory.Exists(ShardsPath) ? Directory.EnumerateFiles(ShardsPath).Sum(f => new FileInfo(f).Length) : 0;

    public override string ToString() => Path;
}
