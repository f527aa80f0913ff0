using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json.Nodes;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Ingest;

/// <summary>
/// Packs a teacher stream (<c>logitstore pack --from-stream</c>) into a store; parsing and truncation run on worker threads.
/// </summary>
public static class StreamPack
{
    public static async Task<Manifest> RunAsync(string directory, TeacherStream input, ProcessingOptions processing, CodecOptions codecs,
        bool overwrite = false, int workers = 0, PackProgress? progress = null, CancellationToken ct = default)
    {
        await using var _ = input;
        var (header, buffer, offset) = await ReadHeaderAsync(input, ct);
        using var parsers = NewParsers(header, input.Name, processing);
        var options = new StoreWriterOptions
        {
            VocabSize = header.VocabSize,
            Tokenizer = new TokenizerInfo { Name = "external", VocabHash = "" },
            Teacher = new() { ["id"] = header.TeacherId },
            Processing = processing,
            Codecs = codecs,
            Source = new JsonObject { ["kind"] = "stream", ["payload_kind"] = (int)header.Kind, ["max_entries"] = header.MaxEntries },
            Workers = workers > 0 ? workers : Environment.ProcessorCount,
            Overwrite = overwrite,
        };
        await using var writer = StoreWriter.Create(directory, options);
        progress?.Start(writer, 0, 0);
        await PumpAsync(input, header, buffer, offset, writer, parsers, skip: 0, ct);
        return writer.Manifest;
    }

    /// <summary>Finishes a partial stream store: the producer sends the whole stream again, committed sequences are skipped.</summary>
    public static async Task<Manifest> ResumeAsync(
        string directory, TeacherStream input, int workers = 0, PackProgress? progress = null, CancellationToken ct = default)
    {
        await using var _ = input;
        await using var writer = StoreWriter.Resume(directory, workers);
        var m = writer.Manifest;
        var (header, buffer, offset) = await ReadHeaderAsync(input, ct);
        if (header.VocabSize != m.VocabSize)
            throw new StoreCorruptException(
                input.Name, StreamHeader.Offsets.VocabSize, $"stream vocab_size {header.VocabSize} differs from the store's {m.VocabSize}");
        if ((string?)m.Teacher["id"] != header.TeacherId)
            throw new InvalidOperationException($"stream teacher '{header.TeacherId}' differs from the store's '{m.Teacher["id"]}'");
        using var parsers = NewParsers(header, input.Name, ManifestSections.FromSection(m.Processing));
        progress?.Start(writer, 0, (long)m.Totals.Positions);
        await PumpAsync(input, header, buffer, offset, writer, parsers, skip: writer.NextSequence, ct);
        return writer.Manifest;
    }

    private static ThreadLocal<StreamRecordParser> NewParsers(StreamHeader header, string name, ProcessingOptions processing)
    {
        _ = new StreamRecordParser(header, name, processing); // validates the combination before any store is created
        return new ThreadLocal<StreamRecordParser>(() => new StreamRecordParser(header, name, processing));
    }

    private static async Task<(StreamHeader, ReadOnlySequence<byte>, long)> ReadHeaderAsync(TeacherStream input, CancellationToken ct)
    {
        while (true)
        {
            var result = await input.Reader.ReadAsync(ct);
            var buffer = result.Buffer;
            if (StreamHeader.TryRead(ref buffer, input.Name, out var header))
            {
                input.Reader.AdvanceTo(buffer.Start);
                return (header!, default, header!.Size);
            }
            if (result.IsCompleted) throw new StoreCorruptException(input.Name, buffer.Length, "stream ended inside its header");
            input.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task PumpAsync(TeacherStream input, StreamHeader header, ReadOnlySequence<byte> _, long offset, StoreWriter writer,
        ThreadLocal<StreamRecordParser> parsers, ulong skip, CancellationToken ct)
    {
        var reader = input.Reader;
        int spb = writer.SequencesPerBlock;
        var batch = new List<StreamFrame>(spb);
        ulong received = 0;
        bool ended = false;
        while (!ended)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            long start = offset;
            while (!ended && StreamFrame.TryRead(ref buffer, offset, input.Name, out var frame))
            {
                offset = start + (result.Buffer.Length - buffer.Length);
                if (frame.Type == StreamFrame.EndType)
                {
                    ulong count = BinaryPrimitives.ReadUInt64LittleEndian(frame.Payload);
                    if (count != received)
                        throw new StoreCorruptException(
                            input.Name,
                            frame.Offset + StreamFrame.Offsets.Payload,
                            $"end frame counts {count} sequences, {received} were sent");
                    ended = true;
                    break;
                }
                received++;
                if (received <= skip) continue;
                batch.Add(frame);
                if (batch.Count == spb) await SubmitAsync(writer, batch, parsers, ct);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (!ended && result.IsCompleted)
                throw new StoreCorruptException(
                    input.Name, offset, $"stream ended without an end frame after {received} sequences (truncated producer?)");
        }
        if (batch.Count > 0) await SubmitAsync(writer, batch, parsers, ct);
        await writer.CompleteAsync(ct);
    }

    private static ValueTask SubmitAsync(
        StoreWriter writer, List<StreamFrame> batch, ThreadLocal<StreamRecordParser> parsers, CancellationToken ct)
    {
        var frames = batch.ToArray();
        batch.Clear();
        ulong first = writer.NextSequence;
        return writer.AppendBlockAsync(frames.Length, () =>
        {
            var parser = parsers.Value!;
            var seqs = new SparseSequence[frames.Length];
            for (int i = 0; i < frames.Length; i++) seqs[i] = parser.Parse(frames[i], first + (ulong)i);
            return seqs;
        }, ct);
    }
}
