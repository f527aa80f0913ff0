using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Interchange;

/// <summary>
/// Imports top-k Parquet files into a new store (<c>logitstore import --parquet</c>). An import the files refuse leaves
/// nothing behind: the files are checked before the store is created, and a row that breaks the rules later removes
/// the partial store (it could only be resumed from the same files, to fail at the same row). A cancelled import keeps
/// its partial store, which <c>pack --resume</c> finishes.
/// </summary>
public static class ParquetImport
{
    public static async Task<Manifest> RunAsync(
        string directory, ParquetImportOptions options, ProcessingOptions processing, CodecOptions codecs, bool overwrite = false,
        int workers = 0, ulong? identitySeed = null, PackProgress? progress = null, CancellationToken ct = default)
    {
        var store = new StoreDirectory(directory);
        bool existed = Directory.Exists(directory);
        byte[]? manifestBefore = store.HoldsStore ? File.ReadAllBytes(store.ManifestPath) : null;
        try
        {
            return await Pack.RunAsync(
                directory, async () => await ParquetPackSource.OpenAsync(options, ct), processing, codecs, overwrite, workers,
                identitySeed, progress, ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is not StoreLockedException)
        {
            RemoveRefused(store, existed, manifestBefore);
            throw;
        }
    }

    /// <summary>
    /// Removes what the refused import wrote, holding the store's lock again (spec 2.5.1): when another writer has taken
    /// the directory meanwhile, its files are left alone.
    /// </summary>
    private static void RemoveRefused(StoreDirectory store, bool existed, byte[]? manifestBefore)
    {
        if (!Directory.Exists(store.Path)) return;
        StoreWriteLock writeLock;
        try { writeLock = StoreWriteLock.Acquire(store.Path, "removing a refused import"); }
        catch (StoreLockedException) { return; }
        using (writeLock)
        {
            // A directory the import made goes whole, lock file included, while the lock is held (spec 2.5.1).
            if (!existed) Directory.Delete(store.Path, recursive: true);
            else if (CreatedHere(store, manifestBefore)) store.Remove();
        }
    }

    /// <summary>
    /// True when the directory's store is the one this import started: a store that was there and was refused (no
    /// overwrite) or not yet replaced keeps its manifest byte for byte.
    /// </summary>
    private static bool CreatedHere(StoreDirectory store, byte[]? manifestBefore) =>
        store.HoldsStore && (manifestBefore is null || !File.ReadAllBytes(store.ManifestPath).AsSpan().SequenceEqual(manifestBefore));
}
