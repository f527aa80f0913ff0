using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Teacher;

/// <summary>What <c>logitstore pack --teacher</c> does.</summary>
public sealed record TeacherPackOptions
{
    public required string Checkpoint { get; init; }
    public required string Corpus { get; init; }

    /// <summary>The JSON member or Parquet column that holds each document's text.</summary>
    public string TextField { get; init; } = TextDocuments.DefaultTextField;
    public required string Output { get; init; }
    public int SequenceLength { get; init; } = 128;
    public int BatchSize { get; init; } = 8;
    public string Device { get; init; } = "auto";
    /// <summary>Tokens to pack, rounded up to whole sequences (the corpus is read only as far as it needs).</summary>
    public long MaxTokens { get; init; } = long.MaxValue;
    public ProcessingOptions Processing { get; init; } = new();
    public CodecOptions Codecs { get; init; } = new();
    public bool Overwrite { get; init; }
    public int Workers { get; init; }

    /// <summary>Derives the store's ids from this seed (<see cref="StoreWriterOptions.IdentitySeed"/>); null draws them.</summary>
    public ulong? IdentitySeed { get; init; }

    public CorpusSplit Split { get; init; } = CorpusSplit.All;
}

/// <summary>Which sequences of a corpus a teacher pack runs over: all (training split, then held-out), train or held-out.</summary>
public enum CorpusSplit
{
    All,
    Train,
    HeldOut,
}

/// <summary>
/// Runs a teacher checkpoint over a tokenised corpus (training split, then held-out) in batches, with no grad
/// (bf16 on CUDA), processes logits on the device, and writes the store through <see cref="StoreWriter"/>, whose
/// bounded channel lets the forward pass run ahead of encoding until the CPU truly cannot keep up.
/// </summary>
public static class TeacherPack
{
    /// <summary>Packs the teacher over its corpus; the settings are checked before the model loads.</summary>
    public static async Task<(Manifest Manifest, TeacherPackTiming Timing)> RunAsync(
        TeacherPackOptions o, PackProgress? progress = null, CancellationToken ct = default)
    {
        TeacherPackSource? source = null;
        var manifest = await Pack.RunAsync(
            o.Output, () => Task.FromResult<IPackSource>(source = TeacherPackSource.Open(o)), o.Processing, o.Codecs, o.Overwrite,
            o.Workers, o.IdentitySeed, progress, ct);
        return (manifest, source!.Timing!);
    }

    /// <summary>
    /// Pack against bare forward, side by side in one process on one loaded model: first the forward alone over the
    /// pack's batches, then the pack of the same tokens into <see cref="TeacherPackOptions.Output"/>.
    /// </summary>
    public static async Task<TeacherPackBenchmark> BenchmarkAsync(
        TeacherPackOptions o, PackProgress? progress = null, CancellationToken ct = default)
    {
        StoreWriterOptions.ValidateSettings(o.Processing, o.Codecs); // before the model loads for the bare forward
        var source = TeacherPackSource.Open(o);
        (long tokens, double seconds) bare;
        try { bare = source.ForwardOnly(ct); }
        catch
        {
            await source.DisposeAsync();
            throw;
        }
        long forwardPeak = ProcessMemory.PeakResidentBytes();
        var (manifest, timing) = await RunAsync(source, o, progress, ct);
        return new TeacherPackBenchmark(bare.tokens, bare.seconds, forwardPeak, timing, (long)manifest.Totals.Bytes);
    }

    private static async Task<(Manifest Manifest, TeacherPackTiming Timing)> RunAsync(
        TeacherPackSource source, TeacherPackOptions o, PackProgress? progress, CancellationToken ct)
    {
        var manifest = await Pack.RunAsync(
            o.Output, source, o.Processing, o.Codecs, o.Overwrite, o.Workers, o.IdentitySeed, progress, ct);
        return (manifest, source.Timing!);
    }

    /// <summary>Lets <c>pack --resume</c> finish a teacher pack (the manifest's source kind "corpus").</summary>
    public static void RegisterPackSource() =>
        PackSources.Register(TeacherPackSource.Kind, (m, inputs, _) => Task.FromResult<IPackSource>(TeacherPackSource.Resume(m, inputs)));
}
