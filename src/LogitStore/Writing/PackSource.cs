using System.Collections.Concurrent;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Writing;

/// <summary>
/// A teacher whose distributions a pack writes: the synthetic teacher, a stream from an external process, or a
/// checkpoint run by LogitStore.Torch. It describes the store a new pack creates, and fills a writer from the writer's
/// next sequence to its end, so that one code path both packs and finishes an interrupted pack.
/// </summary>
public interface IPackSource : IAsyncDisposable
{
    /// <summary>The store a new pack of this source creates: vocabulary, tokenizer, teacher, source and partition.</summary>
    StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs);

    /// <summary>Appends every sequence from <see cref="StoreWriter.NextSequence"/> on, then completes the writer.</summary>
    Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct);
}

/// <summary>What finishing a pack needs besides its store: the inputs a manifest cannot hold.</summary>
public sealed record PackResumeInputs
{
    /// <summary>A stream pack's producer, sending the whole stream again ('-' or unix:PATH).</summary>
    public string? Stream { get; init; }

    /// <summary>Told where a unix socket listens.</summary>
    public Action<string>? Listening { get; init; }

    /// <summary>A teacher pack's device (auto, cpu, cuda).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>
    /// Derives the <c>pack_id</c> of the shards the resume writes from this seed (<see cref="StoreWriterOptions.IdentitySeed"/>);
    /// null draws it.
    /// </summary>
    public ulong? IdentitySeed { get; init; }
}

/// <summary>
/// The sources a pack can resume, by the manifest's <c>source.kind</c>. The application registers the sources it
/// offers at its start (each source has a <c>Register</c> method); the core registers none itself.
/// </summary>
public static class PackSources
{
    /// <summary>Opens the source a partial store was packed from, to finish it.</summary>
    public delegate Task<IPackSource> Resumer(Manifest manifest, PackResumeInputs inputs, CancellationToken ct);

    private static readonly ConcurrentDictionary<string, Resumer> Resumers = new();

    public static void Register(string kind, Resumer resumer) => Resumers[kind] = resumer;

    public static Task<IPackSource> ResumeAsync(string storeDirectory, Manifest manifest, PackResumeInputs inputs, CancellationToken ct)
    {
        string kind = (string?)manifest.Source["kind"] ?? "";
        return Resumers.TryGetValue(kind, out var resumer)
            ? resumer(manifest, inputs, ct)
            : throw new InvalidOperationException(
                $"{storeDirectory}: a pack from source '{kind}' cannot be resumed here (known: " +
                $"{string.Join(", ", Resumers.Keys.Order(StringComparer.Ordinal))})");
    }
}

/// <summary>Runs a pack from a source, and finishes an interrupted one.</summary>
public static class Pack
{
    /// <summary>
    /// Packs <paramref name="source"/> into a new store; <paramref name="identitySeed"/> derives the store's ids
    /// (<see cref="StoreWriterOptions.IdentitySeed"/>), so that the same inputs give a byte-identical store.
    /// </summary>
    public static async Task<Manifest> RunAsync(
        string directory, IPackSource source, ProcessingOptions processing, CodecOptions codecs, bool overwrite = false,
        int workers = 0, ulong? identitySeed = null, PackProgress? progress = null, CancellationToken ct = default)
    {
        try
        {
            StoreWriterOptions.ValidateSettings(processing, codecs);
        }
        catch
        {
            await source.DisposeAsync(); // the pack owns the source it was given, refused or not
            throw;
        }
        return await RunValidatedAsync(directory, source, processing, codecs, overwrite, workers, identitySeed, progress, ct);
    }

    /// <summary>
    /// Packs the source <paramref name="openSource"/> opens into a new store, after the settings are checked: a refused
    /// setting never waits for a producer to connect or a model to load.
    /// </summary>
    public static async Task<Manifest> RunAsync(
        string directory, Func<Task<IPackSource>> openSource, ProcessingOptions processing, CodecOptions codecs,
        bool overwrite = false, int workers = 0, ulong? identitySeed = null, PackProgress? progress = null,
        CancellationToken ct = default)
    {
        StoreWriterOptions.ValidateSettings(processing, codecs);
        return await RunValidatedAsync(
            directory, await openSource(), processing, codecs, overwrite, workers, identitySeed, progress, ct);
    }

    private static async Task<Manifest> RunValidatedAsync(
        string directory, IPackSource source, ProcessingOptions processing, CodecOptions codecs, bool overwrite, int workers,
        ulong? identitySeed, PackProgress? progress, CancellationToken ct)
    {
        await using var _ = source;
        var options = source.Describe(processing, codecs) with
        {
            Overwrite = overwrite,
            Workers = workers > 0 ? workers : Environment.ProcessorCount,
            IdentitySeed = identitySeed,
        };
        await using var writer = StoreWriter.CreateValidated(directory, options);
        await source.FillAsync(writer, processing, progress, ct);
        return writer.Manifest;
    }

    /// <summary>
    /// Finishes a partial store from the source its manifest names, with the settings its manifest records; a complete
    /// store is returned as it is (<paramref name="alreadyComplete"/> says so).
    /// </summary>
    public static Task<(Manifest Manifest, bool AlreadyComplete)> ResumeAsync(
        string directory, PackResumeInputs inputs, int workers = 0, PackProgress? progress = null, CancellationToken ct = default) =>
        ResumeAsync(directory, (m, i, c) => PackSources.ResumeAsync(directory, m, i, c), inputs, workers, progress, ct);

    /// <summary>
    /// Finishes a partial store from the source <paramref name="resumer"/> opens (a caller that knows its source's kind
    /// needs no registration); a complete store is returned as it is.
    /// </summary>
    public static async Task<(Manifest Manifest, bool AlreadyComplete)> ResumeAsync(
        string directory, PackSources.Resumer resumer, PackResumeInputs inputs, int workers = 0, PackProgress? progress = null,
        CancellationToken ct = default)
    {
        var manifest = new StoreDirectory(directory).LoadManifest();
        if (manifest.IsComplete) return (manifest, true);
        // The writer first: it takes the store's lock, so a second resume is refused before it opens a producer or a model.
        await using var writer = StoreWriter.Resume(directory, workers, inputs.IdentitySeed);
        await using var source = await resumer(writer.Manifest, inputs, ct);
        await source.FillAsync(writer, ManifestSections.FromSection(writer.Manifest.Processing), progress, ct);
        return (writer.Manifest, false);
    }
}
