using System.Text.Json.Nodes;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Ingest;

/// <summary>
/// Writes a store from teacher output handed over by calls in the same process (the C ABI's writer, and through it
/// Python's <c>logitstore.Writer</c>): a pack whose producer calls <see cref="AppendLogits"/> or <see cref="AppendTopK"/>
/// where a stream's producer writes frames. It runs the path every pack runs (<see cref="Pack"/>, <see cref="StoreWriter"/>:
/// dictionary bootstrap, shards, commits) and handles sequences as a stream pack does (<see cref="ProducerSequences{T}"/>,
/// <see cref="TeacherRecordProcessor"/>), so the same sequences and settings give a store equal byte for byte to
/// <c>pack --from-stream</c>'s but for the manifest's <c>source</c>. Each call checks its input before it takes it, and
/// refuses it whole: a refused sequence leaves the writer as it was. Calls on one writer must not overlap.
/// </summary>
public sealed class TeacherWriter : IDisposable
{
    /// <summary>The manifest's <c>source.kind</c> of a store written by a writer (format-spec 2.0.3).</summary>
    public const string Kind = "writer";

    /// <summary>The most tokens a sequence may have, as in a stream (stream-protocol.md 2.1).</summary>
    public const int MaxSequenceLength = 1 << 20;

    /// <summary>The most entries a top-k position may carry, as in a stream (its u16 count).</summary>
    public const int MaxTopKWidth = ushort.MaxValue;

    private enum State { Open, Committed, Aborted, Failed }

    private readonly uint _vocabSize;
    private readonly ProcessingOptions _processing;
    private readonly WriterSource _source;
    private readonly Task<Manifest> _pack;
    private readonly ProducerSequences<TeacherRecord>? _sequences;   // null when a resume found the store complete
    private readonly ThreadLocal<TeacherRecordProcessor>? _processors;
    private readonly TeacherRecordProcessor _checks;
    private readonly Manifest? _wasComplete;
    private ulong _dropped;                                           // sequences taken by a writer of a complete store
    private State _state;
    private Exception? _failure;
    private Manifest? _committed;

    private TeacherWriter(TeacherWriterOptions options, WriterSource source, Task<Manifest> pack)
    {
        _vocabSize = options.VocabSize;
        _source = source;
        _pack = pack;
        if (source.Lent.IsCompletedSuccessfully)
        {
            var (writer, processing) = source.Lent.Result;
            _processing = processing;
            var processors = _processors = new(() => new TeacherRecordProcessor(_vocabSize, processing));
            _sequences = new ProducerSequences<TeacherRecord>(writer, "the writer's input", (r, id) => r.Process(processors.Value!, id));
        }
        else
        {
            _processing = options.Processing;
            _wasComplete = pack.GetAwaiter().GetResult();
        }
        _checks = new TeacherRecordProcessor(_vocabSize, _processing);
    }

    /// <summary>
    /// Starts a new store at <paramref name="directory"/>. Every setting is checked before anything touches the disk; the
    /// writer holds the store's lock (format-spec 2.5.1) until it is committed or aborted.
    /// </summary>
    public static TeacherWriter Create(string directory, TeacherWriterOptions options)
    {
        options.Validate();
        var source = new WriterSource(options);
        var pack = Task.Run(() => Pack.RunAsync(
            directory, source, options.Processing, options.Codecs, options.Overwrite, options.Workers, options.IdentitySeed));
        return Start(options, source, pack);
    }

    /// <summary>
    /// Finishes the partial store at <paramref name="directory"/> after a crash or an abort: the producer then writes every
    /// sequence again from the first, and the <see cref="Committed"/> ones the store holds are checked (their tokens) and
    /// dropped. Settings that differ from the store's are refused, naming each. A directory without a store gets a new
    /// one; a complete store takes its sequences again and drops them.
    /// </summary>
    public static TeacherWriter Resume(string directory, TeacherWriterOptions options)
    {
        if (options.Overwrite)
            throw new SettingException("overwrite", "replaces a store and resume finishes one: give one of them");
        var store = new StoreDirectory(directory);
        if (!store.HoldsStore) return Create(directory, options); // which checks every setting once
        options.Validate();
        StoreWriterOptions.ValidateSettings(options.Processing, options.Codecs);
        var differences = options.Differences(store.LoadManifest());
        if (differences.Count > 0)
            throw new ArgumentException($"{directory} was written with other settings: {string.Join("; ", differences)}");
        var source = new WriterSource(options);
        var inputs = new PackResumeInputs { IdentitySeed = options.IdentitySeed };
        var pack = Task.Run(async () =>
            (await Pack.ResumeAsync(directory, (_, _, _) => Task.FromResult<IPackSource>(source), inputs, options.Workers)).Manifest);
        return Start(options, source, pack);
    }

    /// <summary>
    /// Tells <c>pack --resume</c> that a writer's store is finished by a writer (<see cref="Resume"/>): the sequences come
    /// from the program that called it, which no command can run again.
    /// </summary>
    public static void Register() => PackSources.Register(Kind, (m, _, _) => Task.FromException<IPackSource>(
        new InvalidOperationException(
            $"store {m.StoreId} was written by a program through a writer (source '{Kind}'): finish it by running that " +
            "program again with a resumed writer (Python: logitstore.Writer(..., resume=True))")));

    /// <summary>Waits until the pack lends its store writer, or ends: failed, or found the store complete.</summary>
    private static TeacherWriter Start(TeacherWriterOptions options, WriterSource source, Task<Manifest> pack)
    {
        Task.WaitAny(source.Lent, pack);
        return new TeacherWriter(options, source, pack);
    }

    /// <summary>
    /// Sequences the store held when this writer opened it (0 for a new store): a resumed writer's first that many
    /// sequences are those again, checked by their tokens and dropped (their logits or top-k lists are not read).
    /// </summary>
    public ulong Committed => _sequences?.Committed ?? _wasComplete!.Totals.Sequences;

    /// <summary>Whether a resume found the store complete: every sequence is then one it holds.</summary>
    public bool WasComplete => _wasComplete is not null;

    /// <summary>Sequences taken so far, the dropped ones included.</summary>
    public ulong Received => _sequences?.Received ?? _dropped;

    /// <summary>Whether the next sequence is one the store holds (only its tokens are needed).</summary>
    public bool NextIsResent => Received < Committed || WasComplete;

    /// <summary>
    /// Takes one sequence of <c>T</c> tokens with the teacher's logits <c>[T, V]</c> (row-major), processed by the store's
    /// processing as a stream's full-logits record is. A resent sequence needs its tokens only (logits may be empty).
    /// </summary>
    public void AppendLogits(ReadOnlySpan<int> tokens, ReadOnlySpan<float> logits)
    {
        EnsureOpen();
        int[] copied = CopyTokens(tokens);
        if (NextIsResent)
        {
            Take(new TeacherRecord(copied));
            return;
        }
        int v = (int)Math.Min(_vocabSize, int.MaxValue);
        if (logits.Length != (long)copied.Length * _vocabSize)
            throw new ArgumentException(
                $"logits: {logits.Length} values for {copied.Length} positions of {_vocabSize} logits: [T, V] = " +
                $"{(long)copied.Length * _vocabSize} are needed");
        var values = GC.AllocateUninitializedArray<float>(logits.Length);
        for (int pos = 0; pos < copied.Length; pos++)
        {
            var row = values.AsSpan(pos * v, v);
            logits.Slice(pos * v, v).CopyTo(row);
            try
            {
                TeacherRecordProcessor.CheckLogits(row);
            }
            catch (RecordValueException ex)
            {
                throw new ArgumentException($"logits: position {pos}: {ex.Message}");
            }
        }
        Take(new TeacherRecord(copied) { Logits = values });
    }

    /// <summary>
    /// Takes one sequence of <c>T</c> tokens with top-k lists already cut: ids and their log-probabilities under the
    /// teacher's full distribution at τ = 1, <c>[T, width]</c> row-major, of which position <c>t</c> carries the first
    /// <c>counts[t]</c> (all <paramref name="width"/> when <paramref name="counts"/> is empty), as a stream's top-k record
    /// carries them (stream-protocol.md 2.1, 3). A resent sequence needs its tokens only.
    /// </summary>
    public void AppendTopK(
        ReadOnlySpan<int> tokens, ReadOnlySpan<int> ids, ReadOnlySpan<float> logprobs, int width, ReadOnlySpan<int> counts)
    {
        EnsureOpen();
        int[] copied = CopyTokens(tokens);
        if (NextIsResent)
        {
            Take(new TeacherRecord(copied));
            return;
        }
        TeacherRecordProcessor.CheckTopKProcessing(_processing);
        int t = copied.Length;
        if (width < 1 || width > MaxTopKWidth)
            throw new ArgumentException($"ids: {width} entries per position; a position carries 1 to {MaxTopKWidth}");
        if (ids.Length != (long)t * width)
            throw new ArgumentException($"ids: {ids.Length} values for {t} positions of {width} entries ([T, width])");
        if (logprobs.Length != ids.Length)
            throw new ArgumentException($"logprobs: {logprobs.Length} values for {t} positions of {width} entries ([T, width])");
        if (!counts.IsEmpty && counts.Length != t)
            throw new ArgumentException($"counts: {counts.Length} values for {t} positions");
        var masses = new double[t];
        for (int pos = 0; pos < t; pos++)
        {
            int n = counts.IsEmpty ? width : counts[pos];
            if (n < 1 || n > width) throw new ArgumentException($"counts: position {pos} counts {n} entries, outside [1, {width}]");
            try
            {
                masses[pos] = _checks.CheckTopK(ids.Slice(pos * width, n), logprobs.Slice(pos * width, n));
            }
            catch (RecordValueException ex)
            {
                throw new ArgumentException($"{(ex.Field == RecordField.Id ? "ids" : "logprobs")}: position {pos}: {ex.Message}");
            }
        }
        Take(new TeacherRecord(copied)
        {
            Ids = ids.ToArray(),
            LogProbs = logprobs.ToArray(),
            Width = width,
            Counts = counts.IsEmpty ? null : counts.ToArray(),
            Masses = masses,
        });
    }

    /// <summary>
    /// Writes what is pending, commits the last shard and marks the store complete (a part records its length): the
    /// store is then the same as a stream pack of the same sequences. Returns the manifest.
    /// </summary>
    public Manifest Commit()
    {
        if (_committed is not null) return _committed;
        EnsureOpen();
        if (_wasComplete is { } complete)
        {
            _state = State.Committed;
            return _committed = complete;
        }
        _sequences!.CheckEnd(problem => new ArgumentException(problem)); // refused: the writer stays open
        try
        {
            RunSync(() => new ValueTask(_sequences.CompleteAsync(CancellationToken.None)));
            _source.Return();
            _committed = _pack.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Fail(ex);
            throw;
        }
        _state = State.Committed;
        _processors?.Dispose();
        return _committed;
    }

    /// <summary>
    /// Stops without completing: the store keeps what it committed, as after a crash, and a <see cref="Resume"/> finishes
    /// it. Nothing after the last committed shard is kept.
    /// </summary>
    public void Abort()
    {
        if (_state is State.Committed or State.Aborted) return;
        _state = State.Aborted;
        _source.Cancel();
        try
        {
            _pack.GetAwaiter().GetResult();
        }
        catch
        {
            // The pack stops on the cancellation (or stopped on the failure the caller saw); its writer is disposed.
        }
        _processors?.Dispose();
    }

    /// <summary>Aborts a writer that was not committed.</summary>
    public void Dispose() => Abort();

    private void EnsureOpen()
    {
        switch (_state)
        {
            case State.Committed: throw new InvalidOperationException("the writer is committed: its store is complete");
            case State.Aborted: throw new InvalidOperationException("the writer was aborted");
            case State.Failed: throw new InvalidOperationException($"the writer stopped on an earlier error: {_failure!.Message}");
        }
    }

    private int[] CopyTokens(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length < 1 || tokens.Length > MaxSequenceLength)
            throw new ArgumentException($"tokens: a sequence of {tokens.Length} tokens; a sequence has 1 to {MaxSequenceLength}");
        var copied = tokens.ToArray();
        for (int i = 0; i < copied.Length; i++)
            if ((uint)copied[i] >= _vocabSize)
                throw new ArgumentException($"tokens: position {i}: token {copied[i]} is not in [0, {_vocabSize})");
        return copied;
    }

    private void Take(TeacherRecord record)
    {
        if (_sequences is null)
        {
            if (_dropped == _wasComplete!.Totals.Sequences)
                throw new InvalidOperationException(
                    $"the store is complete with {_dropped} sequences; this writer takes no more than those again");
            _dropped++;
            return;
        }
        try
        {
            RunSync(() => _sequences.AddAsync(record, r => r.Tokens, problem => new ArgumentException(problem), CancellationToken.None));
        }
        catch (Exception ex)
        {
            Fail(ex);
            throw;
        }
    }

    private void Fail(Exception ex)
    {
        _state = State.Failed;
        _failure = ex;
    }

    /// <summary>
    /// Runs the pack's asynchronous steps to their end on the calling thread (a native caller's, or a test's): without the
    /// thread's synchronization context, whose continuations would wait on this very thread.
    /// </summary>
    private static void RunSync(Func<ValueTask> work)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            var pending = work();
            if (!pending.IsCompletedSuccessfully) pending.AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    /// <summary>
    /// The pack source behind a writer: it describes the store and, when the pack asks it to fill the store writer, lends
    /// the writer to the caller's calls until they complete it (or abort).
    /// </summary>
    private sealed class WriterSource(TeacherWriterOptions options) : IPackSource
    {
        private readonly TaskCompletionSource<(StoreWriter, ProcessingOptions)> _lent =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _returned = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The store writer and the processing the pack runs with, once the store is open.</summary>
        public Task<(StoreWriter Writer, ProcessingOptions Processing)> Lent => _lent.Task;

        public void Return() => _returned.TrySetResult();

        public void Cancel() => _returned.TrySetCanceled();

        public StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs) => new()
        {
            VocabSize = options.VocabSize,
            Tokenizer = new TokenizerInfo { Name = "external", VocabHash = "" },
            Teacher = new() { ["id"] = options.TeacherId },
            Processing = processing,
            Codecs = codecs,
            Source = new JsonObject { ["kind"] = Kind },
            Partition = options.Part is { } p
                ? new PartitionInfo { Index = p.Index, Count = p.Count, FirstSequence = options.FirstSequence, SequenceCount = 0 }
                : null,
        };

        public async Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct)
        {
            _lent.SetResult((writer, processing));
            await _returned.Task;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>One sequence a <see cref="TeacherWriter"/> took: its own copy of the caller's arrays, processed on a worker.</summary>
internal sealed class TeacherRecord(int[] tokens)
{
    public int[] Tokens { get; } = tokens;

    /// <summary>Full logits <c>[T, V]</c>; null for a top-k record (and a resent one).</summary>
    public float[]? Logits { get; init; }

    public int[]? Ids { get; init; }
    public float[]? LogProbs { get; init; }
    public int Width { get; init; }
    public int[]? Counts { get; init; }

    /// <summary>Each top-k position's supplied mass, found when it was checked.</summary>
    public double[]? Masses { get; init; }

    public SparseSequence Process(TeacherRecordProcessor processor, ulong sequence)
    {
        processor.Begin();
        int t = Tokens.Length;
        if (Logits is { } logits)
        {
            int v = logits.Length / t;
            for (int pos = 0; pos < t; pos++) processor.AddLogits(Tokens[pos], logits.AsSpan(pos * v, v), sequence, pos);
        }
        else
        {
            for (int pos = 0; pos < t; pos++)
            {
                int n = Counts?[pos] ?? Width;
                processor.AddTopK(
                    Tokens[pos], Ids.AsSpan(pos * Width, n), LogProbs.AsSpan(pos * Width, n), Masses![pos], sequence, pos);
            }
        }
        return processor.Build();
    }
}
