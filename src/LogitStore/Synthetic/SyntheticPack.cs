using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Synthetic;

/// <summary>Packs the synthetic teacher's output into a store (<c>logitstore pack --synthetic</c>), resumably and by parts.</summary>
public static class SyntheticPack
{
    public static async Task<Manifest> RunAsync(string directory, SyntheticSource source, ProcessingOptions processing, CodecOptions codecs,
        PartSpec? part = null, bool overwrite = false, int workers = 0, PackProgress? progress = null, CancellationToken ct = default)
    {
        source.Validate();
        codecs.Validate();
        var (first, count) = (part ?? new PartSpec(0, 1)).Slice(source.TotalSequences, codecs.SequencesPerBlock);
        if (count == 0)
            throw new ArgumentException(
                $"part {part} holds no sequences: the pack has {source.TotalSequences:N0} sequences in blocks of " +
                $"{codecs.SequencesPerBlock}; use fewer parts");
        var options = new StoreWriterOptions
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
            Workers = workers > 0 ? workers : Environment.ProcessorCount,
            Overwrite = overwrite,
        };
        await using var writer = StoreWriter.Create(directory, options);
        await FillAsync(writer, source, processing, first + count, progress, ct);
        return writer.Manifest;
    }

    public static async Task<Manifest> ResumeAsync(
        string directory, int workers = 0, PackProgress? progress = null, CancellationToken ct = default)
    {
        await using var writer = StoreWriter.Resume(directory, workers);
        var m = writer.Manifest;
        var source = SyntheticSource.FromJson(m.Source);
        ulong end = m.Partition is { } p ? p.FirstSequence + p.SequenceCount : source.TotalSequences;
        await FillAsync(writer, source, Writing.ManifestSections.FromSection(m.Processing), end, progress, ct);
        return writer.Manifest;
    }

    private static async Task FillAsync(
        StoreWriter writer, SyntheticSource source, ProcessingOptions processing, ulong endSequence, PackProgress? progress,
        CancellationToken ct)
    {
        var teacher = new SyntheticTeacher(source.VocabSize, source.Seed, source.Head);
        var perThread = new ThreadLocal<(LogitsProcessor, SyntheticTeacher.Workspace)>(() =>
        {
            var proc = new LogitsProcessor(processing);
            return (proc, new SyntheticTeacher.Workspace(teacher.Head, proc.MaxKept(teacher.Head)));
        });
        ulong start = writer.NextSequence;
        ulong firstOfStore = writer.Manifest.FirstSequence;
        progress?.Start(
            writer,
            (long)((endSequence - firstOfStore) * (ulong)source.SequenceLength),
            (long)((start - firstOfStore) * (ulong)source.SequenceLength));
        int spb = writer.SequencesPerBlock;
        for (ulong s = start; s < endSequence; s += (ulong)spb)
        {
            ct.ThrowIfCancellationRequested();
            ulong blockFirst = s;
            int count = (int)Math.Min((ulong)spb, endSequence - s);
            await writer.AppendBlockAsync(count, () =>
            {
                var (proc, ws) = perThread.Value;
                var seqs = new SparseSequence[count];
                for (int i = 0; i < count; i++) seqs[i] = teacher.Generate(blockFirst + (ulong)i, source.SequenceLength, proc, ws);
                return seqs;
            }, ct);
        }
        await writer.CompleteAsync(ct);
    }
}
