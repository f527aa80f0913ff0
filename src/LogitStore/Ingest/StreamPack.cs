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
        bool overwrite = false, int workers = 0, ulong? identitySeed = null, PackProgress? progress = null,
        CancellationToken ct = default) =>
        await Pack.RunAsync(
            directory, await StreamPackSource.OpenAsync(input, ct), processing, codecs, overwrite, workers, identitySeed, progress, ct);

    /// <summary>Finishes a partial stream store: the producer sends the whole stream again, committed sequences are skipped.</summary>
    public static async Task<Manifest> ResumeAsync(
        string directory, TeacherStream input, int workers = 0, ulong? identitySeed = null, PackProgress? progress = null,
        CancellationToken ct = default)
    {
        var manifest = new StoreDirectory(directory).LoadManifest();
        if (manifest.IsComplete) return manifest;
        await using var writer = StoreWriter.Resume(directory, workers, identitySeed); // takes the lock first
        await using var source = await StreamPackSource.OpenAsync(input, ct, writer.Manifest);
        await source.FillAsync(writer, ManifestSections.FromSection(writer.Manifest.Processing), progress, ct);
        return writer.Manifest;
    }
}

/// <summary>
/// An external teacher's stream as a pack source. Its header is read when the source opens; a resumed pack reads the
/// whole stream again and skips the sequences its store already holds.
/// </summary>
public sealed class StreamPackSource : IPackSource
{
    public const string Kind = "stream";

    private readonly TeacherStream _input;
    private readonly StreamHeader _header;
    private readonly long _offset;
    private readonly PartSpec? _part;

    private StreamPackSource(TeacherStream input, StreamHeader header, long offset, PartSpec? part)
    {
        _input = input;
        _header = header;
        _offset = offset;
        _part = part;
    }

    /// <summary>
    /// Reads the stream's header; with <paramref name="resuming"/>, checks that it is the store's teacher and part. A stream
    /// that starts past sequence 0 is a part and needs <paramref name="part"/> (stream-protocol.md 6).
    /// </summary>
    public static async Task<StreamPackSource> OpenAsync(
        TeacherStream input, CancellationToken ct, Manifest? resuming = null, PartSpec? part = null)
    {
        try
        {
            var (header, _, offset) = await ReadHeaderAsync(input, ct);
            if (resuming?.Partition is { } p) part = new PartSpec(p.Index, p.Count);
            if (part is null && header.FirstSequence != 0)
                throw new PartRequiredException(input.Name, header.FirstSequence);
            if (part is { Index: > 0 } && header.FirstSequence == 0)
                throw new StoreCorruptException(
                    input.Name, StreamHeader.Offsets.FirstSequence,
                    $"part {part} starts at sequence 0: only part 0 may (the producer sends its first_sequence, protocol version 2)");
            if (resuming is { } r && header.FirstSequence != r.FirstSequence)
                throw new StoreCorruptException(
                    input.Name, StreamHeader.Offsets.FirstSequence,
                    $"stream first_sequence {header.FirstSequence} differs from the store's {r.FirstSequence}");
            if (resuming is { } m)
            {
                if (header.VocabSize != m.VocabSize)
                    throw new StoreCorruptException(
                        input.Name, StreamHeader.Offsets.VocabSize,
                        $"stream vocab_size {header.VocabSize} differs from the store's {m.VocabSize}");
                if ((string?)m.Teacher["id"] != header.TeacherId)
                    throw new InvalidOperationException(
                        $"stream teacher '{header.TeacherId}' differs from the store's '{m.Teacher["id"]}'");
            }
            return new StreamPackSource(input, header, offset, part);
        }
        catch
        {
            await input.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Lets <see cref="Pack.ResumeAsync(string, PackResumeInputs, int, PackProgress?, CancellationToken)"/> finish stream packs.
    /// </summary>
    public static void Register() => PackSources.Register(Kind, ResumeAsync);

    /// <summary>Opens the stream a partial store was packed from, sent again by its producer (<see cref="PackSources.Resumer"/>).</summary>
    public static async Task<IPackSource> ResumeAsync(Manifest manifest, PackResumeInputs inputs, CancellationToken ct) =>
        await OpenAsync(
            await TeacherStream.OpenAsync(
                inputs.Stream ?? throw new SettingException("stream", "must be given again to resume a stream pack"), ct, inputs.Listening),
            ct,
            manifest);

    public StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs)
    {
        _ = new StreamRecordParser(_header, _input.Name, processing); // validates the combination before any store is created
        if (_header.FirstSequence % (ulong)codecs.SequencesPerBlock != 0)
            throw new StoreCorruptException(
                _input.Name, StreamHeader.Offsets.FirstSequence,
                $"first_sequence {_header.FirstSequence} is not a multiple of sequences_per_block {codecs.SequencesPerBlock}: " +
                "parts are whole blocks");
        return new StoreWriterOptions
        {
            VocabSize = _header.VocabSize,
            Tokenizer = new TokenizerInfo { Name = "external", VocabHash = "" },
            Teacher = new() { ["id"] = _header.TeacherId },
            Processing = processing,
            Codecs = codecs,
            Source = new JsonObject { ["kind"] = Kind, ["payload_kind"] = (int)_header.Kind, ["max_entries"] = _header.MaxEntries },
            Partition = _part is { } p
                ? new PartitionInfo { Index = p.Index, Count = p.Count, FirstSequence = _header.FirstSequence, SequenceCount = 0 }
                : null,
        };
    }

    public async Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct)
    {
        using var parsers = new ThreadLocal<StreamRecordParser>(() => new StreamRecordParser(_header, _input.Name, processing));
        progress?.Start(writer, 0, (long)writer.Manifest.Totals.Positions);
        await PumpAsync(_input, _header, _offset, writer, parsers, ct);
    }

    public ValueTask DisposeAsync() => _input.DisposeAsync();

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

    private static async Task PumpAsync(
        TeacherStream input, StreamHeader header, long offset, StoreWriter writer, ThreadLocal<StreamRecordParser> parsers,
        CancellationToken ct)
    {
        var sequences = new ProducerSequences<StreamFrame>(writer, "the stream", (frame, id) => parsers.Value!.Parse(frame, id));
        Func<StreamFrame, int[]> tokens = frame => parsers.Value!.Tokens(frame);
        var reader = input.Reader;
        bool ended = false;
        while (!ended)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            long start = offset;
            while (!ended && StreamFrame.TryRead(ref buffer, offset, input.Name, header, out var frame))
            {
                offset = start + (result.Buffer.Length - buffer.Length);
                if (frame.Type == StreamFrame.EndType)
                {
                    ulong count = BinaryPrimitives.ReadUInt64LittleEndian(frame.Payload);
                    var atCount = Fault(input.Name, frame.Offset + 8);
                    if (count != sequences.Received)
                        throw atCount($"end frame counts {count} sequences, {sequences.Received} were sent");
                    sequences.CheckEnd(atCount);
                    ended = true;
                    break;
                }
                await sequences.AddAsync(frame, tokens, Fault(input.Name, frame.Offset), ct);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (ended) await ExpectEndOfStreamAsync(input, buffer.Length, offset, ct);
            else if (result.IsCompleted)
                throw new StoreCorruptException(
                    input.Name, offset, $"stream ended without an end frame after {sequences.Received} sequences (truncated producer?)");
        }
        await sequences.CompleteAsync(ct);
    }

    private static Func<string, Exception> Fault(string stream, long offset) =>
        problem => new StoreCorruptException(stream, offset, problem);

    /// <summary>Nothing may follow the end frame (stream-protocol.md 2.2): the producer closes the stream after it.</summary>
    private static async Task ExpectEndOfStreamAsync(TeacherStream input, long buffered, long offset, CancellationToken ct)
    {
        while (buffered == 0)
        {
            var result = await input.Reader.ReadAsync(ct);
            buffered = result.Buffer.Length;
            input.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted && buffered == 0) return;
        }
        throw new StoreCorruptException(input.Name, offset, "bytes follow the end frame (the stream must end there)");
    }
}
