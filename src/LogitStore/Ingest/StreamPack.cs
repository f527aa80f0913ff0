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

    /// <summary>Lets <see cref="Pack.ResumeAsync(string, PackResumeInputs, int, PackProgress?, CancellationToken)"/> finish stream packs.</summary>
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
        var committed = new CommittedSequences(writer.NextSequence - writer.Manifest.FirstSequence, writer.CommittedCorpus);
        await PumpAsync(_input, _header, _offset, writer, parsers, committed, _part, ct);
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

    /// <summary>
    /// The sequences a resumed pack already holds: their count, and the fingerprint's corpus term over them (spec 2.9), which
    /// the resent stream's first sequences must give again.
    /// </summary>
    private readonly record struct CommittedSequences(ulong Count, ulong Corpus);

    /// <summary>
    /// Refuses a resent stream whose first <paramref name="committed"/>.Count sequences are not the committed ones (another
    /// producer's stream, or another corpus): their tokens' corpus term must equal the store's.
    /// </summary>
    private static void CheckResent(string stream, long offset, CommittedSequences committed, ulong resent)
    {
        if (resent != committed.Corpus)
            throw new StoreCorruptException(
                stream, offset,
                $"the stream's first {committed.Count} sequences are not the ones the store committed (their tokens' corpus " +
                $"fingerprint is {resent:x16}, the store's {committed.Corpus:x16}): another producer's or another corpus's stream");
    }

    private static async Task PumpAsync(
        TeacherStream input, StreamHeader header, long offset, StoreWriter writer, ThreadLocal<StreamRecordParser> parsers,
        CommittedSequences committed, PartSpec? part, CancellationToken ct)
    {
        ulong skip = committed.Count, resentCorpus = 0, firstId = writer.Manifest.FirstSequence;
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
            while (!ended && StreamFrame.TryRead(ref buffer, offset, input.Name, header, out var frame))
            {
                offset = start + (result.Buffer.Length - buffer.Length);
                if (frame.Type == StreamFrame.EndType)
                {
                    ulong count = BinaryPrimitives.ReadUInt64LittleEndian(frame.Payload);
                    if (count != received)
                        throw new StoreCorruptException(
                            input.Name, frame.Offset + 8, $"end frame counts {count} sequences, {received} were sent");
                    if (received < skip)
                        throw new StoreCorruptException(
                            input.Name, frame.Offset + 8,
                            $"the stream ends after {received} sequences; the store already holds {skip} of it (a shorter stream?)");
                    CheckPartEnd(input.Name, frame.Offset + 8, header, count, part, writer);
                    ended = true;
                    break;
                }
                received++;
                if (received <= skip)
                {
                    resentCorpus += StoreFingerprint.SequenceTerm(firstId + received - 1, parsers.Value!.Tokens(frame));
                    if (received == skip) CheckResent(input.Name, frame.Offset, committed, resentCorpus);
                    continue;
                }
                batch.Add(frame);
                if (batch.Count == spb) await SubmitAsync(writer, batch, parsers, ct);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (ended) await ExpectEndOfStreamAsync(input, buffer.Length, offset, ct);
            else if (result.IsCompleted)
                throw new StoreCorruptException(
                    input.Name, offset, $"stream ended without an end frame after {received} sequences (truncated producer?)");
        }
        if (batch.Count > 0) await SubmitAsync(writer, batch, parsers, ct);
        await writer.CompleteAsync(ct);
    }

    /// <summary>A part holds whole blocks unless it is the last, and records its length (stream-protocol.md 6).</summary>
    private static void CheckPartEnd(string stream, long offset, StreamHeader header, ulong count, PartSpec? part, StoreWriter writer)
    {
        if (header.FirstSequence + count >= 1UL << 63)
            throw new StoreCorruptException(stream, offset, $"first_sequence + {count} sequences reach 2^63");
        if (part is not { } p) return;
        if (p.Index < p.Count - 1 && count % (ulong)writer.SequencesPerBlock != 0)
            throw new StoreCorruptException(
                stream, offset,
                $"part {p} sends {count} sequences, not a multiple of sequences_per_block {writer.SequencesPerBlock}: only the last " +
                "part may end with a short block");
        writer.Manifest.Partition!.SequenceCount = count;
    }

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
