using System.Threading.Channels;
using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Writing;

/// <summary>
/// Writes a store: sequences are grouped into blocks, encoded on all cores, appended in order to
/// shards that roll over at a target size, and committed through the manifest (spec 2.5).
/// A writer that is disposed before <see cref="CompleteAsync"/> leaves the last committed state.
/// </summary>
public sealed class StoreWriter : IAsyncDisposable
{
    private readonly StoreDirectory _store;
    private readonly StoreWriteLock _writeLock;
    private readonly Manifest _manifest;
    private readonly CodecOptions _codecOptions;
    private readonly int _draws;
    private BlockCodecs? _codecs;                 // null while the bootstrap collects positions to train dictionaries
    private DictionaryBootstrap? _bootstrap;
    private readonly int _sequencesPerBlock;
    private readonly long _shardTarget;
    private readonly Guid _packId;
    private readonly Channel<Task<EncodedBlock>> _blocks;
    private readonly Task _consumer;
    private readonly List<SparseSequence> _pending = new();
    private ShardWriter? _shard;
    private ulong _nextSequence;
    private bool _sawShortBlock;
    private ulong _committedCorpus;               // the fingerprint's corpus over the committed shards (spec 2.9)
    private ulong _shardCorpus;                   // ... and over the blocks of the open shard
    private long _writtenPositions;
    private long _writtenSequences;
    private bool _completed;

    private StoreWriter(
        StoreDirectory store, StoreWriteLock writeLock, Manifest manifest, int workers, CodecOptions codecOptions, ulong? identitySeed,
        ulong committedCorpus)
    {
        _store = store;
        _writeLock = writeLock;
        _manifest = manifest;
        _committedCorpus = committedCorpus;
        _codecOptions = codecOptions;
        _draws = ManifestSections.FromSection(manifest.Processing).Draws;
        var listed = StoreDictionaries.Load(store.Path, manifest);
        var rankTable = codecOptions.RankTable
            ?? (codecOptions.Ids == IdCodecSpec.Ranked ? listed.RankTable(DictionaryFile.ParseRef(manifest.Codecs.IdsDictionary)) : null);
        var idModel = codecOptions.IdModel
            ?? (codecOptions.Ids.TakesIdModel ? listed.IdModel(DictionaryFile.ParseRef(manifest.Codecs.IdsDictionary)) : null);
        var codebooks = codecOptions.Codebooks
            ?? (codecOptions.Values.NeedsDictionary ? listed.Codebooks(DictionaryFile.ParseRef(manifest.Codecs.ValuesDictionary)) : null);
        var known = codecOptions with { RankTable = rankTable, IdModel = idModel, Codebooks = codebooks };
        if (known.TrainsDictionaries) _bootstrap = new DictionaryBootstrap(known, manifest.VocabSize);
        else InstallDictionaries(rankTable, idModel, codebooks);
        _sequencesPerBlock = codecOptions.SequencesPerBlock;
        _shardTarget = codecOptions.ShardTargetBytes;
        _nextSequence = manifest.EndSequence;
        _packId = StoreIdentity.PackId(identitySeed, _nextSequence);
        _blocks = Channel.CreateBounded<Task<EncodedBlock>>(
            new BoundedChannelOptions(Math.Max(2, 2 * workers)) { SingleReader = true, SingleWriter = true });
        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>
    /// Starts a new store (the directory must not hold one unless <see cref="StoreWriterOptions.Overwrite"/>). Every
    /// setting is checked before a file is touched; the writer holds the store's lock (spec 2.5.1) until it completes or
    /// is disposed, and a second writer of the directory is refused with <see cref="StoreLockedException"/>.
    /// </summary>
    public static StoreWriter Create(string directory, StoreWriterOptions options)
    {
        options.Validate();
        return CreateValidated(directory, options);
    }

    /// <summary><see cref="Create"/> for options whose settings <see cref="Pack"/> has checked; checks the vocabulary only.</summary>
    internal static StoreWriter CreateValidated(string directory, StoreWriterOptions options)
    {
        options.Codecs.Validate(options.VocabSize);
        if (!options.Codecs.TrainsDictionaries)
            options.Codecs.Resolve(
                options.VocabSize, options.Processing.Draws, options.Codecs.RankTable, options.Codecs.Codebooks, options.Codecs.IdModel);
        var store = new StoreDirectory(directory);
        var writeLock = StoreWriteLock.Acquire(directory, "writing a new store");
        try
        {
            return Start(store, writeLock, options);
        }
        catch
        {
            writeLock.Dispose();
            throw;
        }
    }

    private static StoreWriter Start(StoreDirectory store, StoreWriteLock writeLock, StoreWriterOptions options)
    {
        store.Create(options.Overwrite);
        var manifest = new Manifest
        {
            StoreId = StoreIdentity.StoreId(options.IdentitySeed),
            Status = Manifest.StatusPartial,
            VocabSize = options.VocabSize,
            Tokenizer = options.Tokenizer,
            Teacher = options.Teacher,
            Processing = ManifestSections.ToSection(options.Processing),
            Codecs = CodecSections.ToSection(options.Codecs),
            Source = options.Source,
            Partition = options.Partition,
        };
        manifest.Fingerprint = StoreFingerprint.Of(manifest, 0).ToSection();
        store.Commit(manifest);
        return new StoreWriter(store, writeLock, manifest, options.Workers, options.Codecs, options.IdentitySeed, committedCorpus: 0);
    }

    /// <summary>
    /// Reopens a partial store to finish it: removes uncommitted files and continues after the last committed shard. The new
    /// shards get a new <c>pack_id</c>, derived from <paramref name="identitySeed"/> when it is given (random otherwise).
    /// </summary>
    public static StoreWriter Resume(string directory, int workers = 0, ulong? identitySeed = null)
    {
        var store = new StoreDirectory(directory);
        if (!store.HoldsStore) throw new InvalidOperationException($"{directory} holds no store to resume");
        var writeLock = StoreWriteLock.Acquire(directory, "resuming the store");
        try
        {
            // Read under the lock: a writer that held it until now may have committed more.
            var manifest = store.LoadManifest();
            if (manifest.IsComplete) throw new InvalidOperationException($"{directory} is already complete: nothing to resume");
            ulong corpus;
            using (var committed = LogitStore.Reading.StoreReader.Open(directory)) // validates every committed shard
                corpus = LogitStore.Reading.CorpusFingerprint.Fingerprint(committed).Corpus;
            store.RemoveUncommitted(manifest);
            return new StoreWriter(
                store,
                writeLock,
                manifest,
                workers > 0 ? workers : Environment.ProcessorCount,
                CodecSections.FromSection(manifest.Codecs),
                identitySeed,
                corpus);
        }
        catch
        {
            writeLock.Dispose();
            throw;
        }
    }

    public Manifest Manifest => _manifest;

    /// <summary>Id of the next sequence this writer expects.</summary>
    public ulong NextSequence => _nextSequence;

    public int SequencesPerBlock => _sequencesPerBlock;

    /// <summary>The fingerprint's corpus term (spec 2.9) over the sequences of the committed shards.</summary>
    public ulong CommittedCorpus => _committedCorpus;

    public long WrittenPositions => Interlocked.Read(ref _writtenPositions);

    public long WrittenSequences => Interlocked.Read(ref _writtenSequences);

    /// <summary>The codecs blocks are encoded with; null until the dictionaries they need are trained.</summary>
    internal BlockCodecs? Codecs => _codecs;

    /// <summary>Called with a line of text when the writer trains dictionaries.</summary>
    public Action<string>? Log { get; set; }

    public async ValueTask AppendAsync(SparseSequence sequence, CancellationToken cancellationToken = default)
    {
        _pending.Add(sequence);
        if (_pending.Count == _sequencesPerBlock) await SubmitPendingAsync(cancellationToken);
    }

    /// <summary>
    /// Appends one block whose <paramref name="count"/> sequences are produced by <paramref name="produce"/> on a
    /// worker thread (generation, teacher post-processing and encoding all run in parallel).
    /// </summary>
    public ValueTask AppendBlockAsync(
        int count, Func<IReadOnlyList<SparseSequence>> produce, CancellationToken cancellationToken = default)
    {
        if (_pending.Count != 0) throw new InvalidOperationException("AppendBlockAsync cannot follow a partial block of AppendAsync");
        return SubmitAsync(Reserve(count), () =>
        {
            var sequences = produce();
            if (sequences.Count != count)
                throw new InvalidOperationException($"block producer returned {sequences.Count} sequences, expected {count}");
            return sequences;
        }, cancellationToken);
    }

    /// <summary>Writes what is pending, commits the last shard and marks the store complete.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_pending.Count > 0) await SubmitPendingAsync(cancellationToken);
        if (_bootstrap is not null) await TrainDictionariesAsync(cancellationToken); // fewer positions than the sample
        _blocks.Writer.TryComplete();
        await _consumer;
        if (_shard is { BlockCount: > 0 }) CommitShard();
        _manifest.Status = Manifest.StatusComplete;
        CommitManifest();
        _completed = true;
        _writeLock.Dispose();
    }

    private ValueTask SubmitPendingAsync(CancellationToken ct)
    {
        var batch = _pending.ToArray();
        _pending.Clear();
        return SubmitAsync(Reserve(batch.Length), () => batch, ct);
    }

    /// <summary>
    /// The one path a block takes into the store: held back by the dictionary bootstrap while it collects its sample,
    /// otherwise produced and encoded on a worker and queued in sequence order for the shard writer.
    /// </summary>
    private async ValueTask SubmitAsync(ulong first, Func<IReadOnlyList<SparseSequence>> produce, CancellationToken ct)
    {
        if (_bootstrap is { } bootstrap)
        {
            var sequences = await Task.Run(produce, ct);
            if (bootstrap.Collect(first, sequences)) await TrainDictionariesAsync(ct);
            return;
        }
        var codecs = _codecs!;
        await EnqueueAsync(Task.Run(() =>
        {
            var sequences = produce();
            ulong corpus = 0;
            for (int i = 0; i < sequences.Count; i++) corpus += StoreFingerprint.SequenceTerm(first + (ulong)i, sequences[i].Tokens);
            return BlockEncoder.Encode(sequences, first, codecs, _manifest.VocabSize) with { CorpusTerm = corpus };
        }, ct), ct);
    }

    /// <summary>Trains the dictionaries on the collected sample, installs them, then submits the blocks held back.</summary>
    private async Task TrainDictionariesAsync(CancellationToken ct)
    {
        var bootstrap = _bootstrap!;
        var (table, idModel, books) = await Task.Run(() => bootstrap.Train(Log), ct);
        InstallDictionaries(table, idModel, books);
        _bootstrap = null;
        foreach (var (first, sequences) in bootstrap.HeldBack) await SubmitAsync(first, () => sequences, ct);
    }

    /// <summary>
    /// Writes the dictionaries the codecs use into the store (before any shard that refers to them) and resolves the codecs.
    /// </summary>
    private void InstallDictionaries(IdRankTable? rankTable, IdContextModel? idModel, MvqCodebooks? codebooks)
    {
        bool changed = false;
        if (rankTable is not null)
            changed |= Install(DictionaryKind.IdRankTable, rankTable.FileBytes, rankTable.Ref, r => _manifest.Codecs.IdsDictionary = r);
        if (idModel is not null)
            changed |= Install(idModel.Kind, idModel.FileBytes, idModel.Ref, r => _manifest.Codecs.IdsDictionary = r);
        if (codebooks is not null)
            changed |= Install(
                DictionaryKind.MvqCodebooks, codebooks.FileBytes, codebooks.Ref, r => _manifest.Codecs.ValuesDictionary = r);
        if (changed) CommitManifest();
        _codecs = _codecOptions.Resolve(_manifest.VocabSize, _draws, rankTable, codebooks, idModel);
    }

    private bool Install(DictionaryKind kind, byte[] bytes, uint reference, Action<string> setRef)
    {
        string hex = DictionaryFile.RefHex(reference);
        setRef(hex);
        if (!_manifest.Dictionaries.Any(d => d.Ref == hex)) _manifest.Dictionaries.Add(_store.WriteDictionary(kind, bytes, reference));
        return true;
    }

    private ulong Reserve(int count)
    {
        if (count < 1 || count > _sequencesPerBlock)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"a block holds 1..{_sequencesPerBlock} sequences");
        if (_sawShortBlock)
            throw new InvalidOperationException("only the last block of a store may hold fewer than sequences_per_block sequences");
        if (count < _sequencesPerBlock) _sawShortBlock = true;
        ulong first = _nextSequence;
        _nextSequence += (ulong)count;
        return first;
    }

    private async ValueTask EnqueueAsync(Task<EncodedBlock> task, CancellationToken ct)
    {
        try
        {
            await _blocks.Writer.WriteAsync(task, ct);
        }
        catch (ChannelClosedException)
        {
            await _consumer; // rethrows what stopped the writer
            throw;
        }
    }

    private async Task ConsumeAsync()
    {
        try
        {
            await foreach (var task in _blocks.Reader.ReadAllAsync())
            {
                var block = await task;
                _shard ??= new ShardWriter(
                    _store.Path, StoreDirectory.ShardName(_manifest.Shards.Count), _manifest.VocabSize, block.FirstSequence, _packId);
                _shard.Append(block);
                _shardCorpus += block.CorpusTerm;
                Interlocked.Add(ref _writtenPositions, block.PositionCount);
                Interlocked.Add(ref _writtenSequences, block.SequenceCount);
                if (_shard.Length >= _shardTarget) CommitShard();
            }
        }
        catch (Exception ex)
        {
            _blocks.Writer.TryComplete(ex);
            // Drain so that no producer waits on a full channel.
            while (_blocks.Reader.TryRead(out _)) { }
            throw;
        }
    }

    private void CommitShard()
    {
        var entry = _shard!.Commit();
        _shard = null;
        _manifest.Shards.Add(entry);
        _committedCorpus += _shardCorpus;
        _shardCorpus = 0;
        CommitManifest();
    }

    /// <summary>Commits the manifest (spec 2.5) with the fingerprint of what it lists (2.9), in the writer's format version.</summary>
    private void CommitManifest()
    {
        _manifest.FormatVersion = new FormatVersion();
        _manifest.Fingerprint = StoreFingerprint.Of(_manifest, _committedCorpus).ToSection();
        _store.Commit(_manifest);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            _blocks.Writer.TryComplete();
            try { await _consumer; } catch { /* the caller already saw the failure */ }
            _shard?.Dispose();
            _shard = null;
        }
        _writeLock.Dispose();
    }
}
