using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Synthetic;

/// <summary>Packs the synthetic teacher's output into a store (<c>logitstore pack --synthetic</c>), resumably and by parts.</summary>
public static class SyntheticPack
{
    /// <summary>
    /// Packs <paramref name="source"/> (or one part of it); <paramref name="identitySeed"/> derives the store's ids
    /// (<see cref="StoreWriterOptions.IdentitySeed"/>), so that the same arguments give a byte-identical store.
    /// </summary>
    public static Task<Manifest> RunAsync(string directory, SyntheticSource source, ProcessingOptions processing, CodecOptions codecs,
        PartSpec? part = null, bool overwrite = false, int workers = 0, ulong? identitySeed = null, PackProgress? progress = null,
        CancellationToken ct = default) =>
        Pack.RunAsync(directory, new SyntheticPackSource(source, part), processing, codecs, overwrite, workers, identitySeed, progress, ct);

    /// <summary>Finishes an interrupted synthetic pack with the settings its manifest records.</summary>
    public static async Task<Manifest> ResumeAsync(
        string directory, int workers = 0, ulong? identitySeed = null, PackProgress? progress = null, CancellationToken ct = default) =>
        (await Pack.ResumeAsync(directory, SyntheticPackSource.ResumeAsync, new PackResumeInputs { IdentitySeed = identitySeed },
            workers, progress, ct)).Manifest;
}

/// <summary>The synthetic teacher as a pack source: a pure function of its seed, so a resume regenerates the same data.</summary>
public sealed class SyntheticPackSource(SyntheticSource source, PartSpec? part = null) : IPackSource
{
    public static SyntheticPackSource Resume(Manifest manifest) =>
        new(SyntheticSource.FromJson(manifest.Source),
            manifest.Partition is { } p ? new PartSpec(p.Index, p.Count) : null);

    /// <summary>Opens the source a partial synthetic store was packed from (<see cref="PackSources.Resumer"/>).</summary>
    public static Task<IPackSource> ResumeAsync(Manifest manifest, PackResumeInputs inputs, CancellationToken ct) =>
        Task.FromResult<IPackSource>(Resume(manifest));

    /// <summary>
    /// Lets <see cref="Pack.ResumeAsync(string, PackResumeInputs, int, PackProgress?, CancellationToken)"/> finish synthetic packs.
    /// </summary>
    public static void Register() => PackSources.Register(SyntheticSource.Kind, ResumeAsync);

    public StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs)
    {
        source.Validate();
        var (first, count) = Slice(codecs.SequencesPerBlock);
        return new StoreWriterOptions
        {
            VocabSize = source.VocabSize,
            Tokenizer = new TokenizerInfo { Name = "synthetic", VocabHash = "" },
            Teacher = new() { ["id"] = $"synthetic-zipf(seed={source.Seed},head={source.Head})" },
            Processing = processing,
            Codecs = codecs,
            Source = source.ToJson(),
            Partition = part is { } p
                ? new PartitionInfo { Index = p.Index, Count = p.Count, FirstSequence = first, SequenceCount = count }
                : null,
        };
    }

    private (ulong First, ulong Count) Slice(int sequencesPerBlock)
    {
        var (first, count) = (part ?? new PartSpec(0, 1)).Slice(source.TotalSequences, sequencesPerBlock);
        if (count == 0)
            throw new ArgumentException(
                $"part {part} holds no sequences: the pack has {source.TotalSequences:N0} sequences in blocks of " +
                $"{sequencesPerBlock}; use fewer parts");
        return (first, count);
    }

    public async Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct)
    {
        var (first, count) = Slice(writer.SequencesPerBlock);
        ulong endSequence = first + count;
        var teacher = new SyntheticTeacher(source.VocabSize, source.Seed, source.Head);
        using var perThread = new ThreadLocal<(LogitsProcessor, SyntheticTeacher.Workspace)>(() =>
        {
            var proc = new LogitsProcessor(processing);
            return (proc, new SyntheticTeacher.Workspace(teacher.Head, proc.MaxKept(teacher.Head)));
        });
        ulong start = writer.NextSequence;
        progress?.Start(
            writer,
            (long)((endSequence - first) * (ulong)source.SequenceLength),
            (long)((start - first) * (ulong)source.SequenceLength));
        int spb = writer.SequencesPerBlock;
        for (ulong s = start; s < endSequence; s += (ulong)spb)
        {
            ct.ThrowIfCancellationRequested();
            ulong blockFirst = s;
            int blockCount = (int)Math.Min((ulong)spb, endSequence - s);
            await writer.AppendBlockAsync(blockCount, () =>
            {
                var (proc, ws) = perThread.Value;
                var seqs = new SparseSequence[blockCount];
                for (int i = 0; i < blockCount; i++) seqs[i] = teacher.Generate(blockFirst + (ulong)i, source.SequenceLength, proc, ws);
                return seqs;
            }, ct);
        }
        await writer.CompleteAsync(ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
