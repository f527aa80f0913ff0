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
    private readonly string _directory;
    private readonly Manifest _manifest;
    private readonly CodecOptions _codecOptions;
    private readonly int _draws;
    private BlockCodecs? _codecs;                 // null while the writer collects positions to train dictionaries
    private readonly List<(ulong First, SparseSequence[] Sequences)> _trainingBlocks = new();
    private long _trainingPositions;
    private readonly int _sequencesPerBlock;
    private readonly long _shardTarget;
    private readonly Guid _packId = Guid.NewGuid();
    private readonly Channel<Task<EncodedBlock>> _blocks;
    private readonly Task _consumer;
    private readonly List<SparseSequence> _pending = new();
    private ShardWriter? _shard;
    private ulong _nextSequence;
    private bool _sawShortBlock;
    private long _writtenPositions;
    private long _writtenSequences;
    private bool _completed;

    private StoreWriter(
        string directory, Manifest manifest, int workers, CodecOptions codecOptions, IdRankTable? rankTable, MvqCodebooks? codebooks)
    {
        _directory = directory;
        _manifest = manifest;
        _codecOptions = codecOptions;
        _draws = ManifestSections.FromSection(manifest.Processing).Draws;
        var listed = StoreDictionaries.Load(directory, manifest);
        if (codecOptions.Ids == "ranked") rankTable ??= listed.RankTable(ParseRef(manifest.Codecs.IdsDictionary));
        if (CodecRegistry.MvqCodebookCount(codecOptions.Values) > 0)
            codebooks ??= listed.Codebooks(ParseRef(manifest.Codecs.ValuesDictionary));
        bool missing = (codecOptions.Ids == "ranked" && rankTable is null)
            || (CodecRegistry.MvqCodebookCount(codecOptions.Values) > 0 && codebooks is null);
        if (!missing) InstallDictionaries(rankTable, codebooks);
        _sequencesPerBlock = codecOptions.SequencesPerBlock;
        _shardTarget = codecOptions.ShardTargetBytes;
        _nextSequence = manifest.EndSequence;
        _blocks = Channel.CreateBounded<Task<EncodedBlock>>(
            new BoundedChannelOptions(Math.Max(2, 2 * workers)) { SingleReader = true, SingleWriter = true });
        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>Starts a new store (the directory must not hold one unless <see cref="StoreWriterOptions.Overwrite"/>).</summary>
    public static StoreWriter Create(string directory, StoreWriterOptions options)
    {
        options.Processing.Validate();
        options.Codecs.Validate();
        if (!CodecRegistry.NeedsDictionary(options.Codecs.Ids) && !CodecRegistry.NeedsDictionary(options.Codecs.Values))
            options.Codecs.Resolve(options.VocabSize, options.Processing.Draws);
        if (options.Codecs.Codebooks is { } given && CodecRegistry.MvqCodebookCount(options.Codecs.Values) != given.M)
            throw new ArgumentException($"the given codebook set has {given.M} codebooks, the value codec is '{options.Codecs.Values}'");
        if (options.Codecs.Values == "counts" && options.Processing.Method != TruncationMethod.Sampled)
            throw new ArgumentException("the 'counts' value codec stores sampled distributions only (--method sampled)");
        string manifestPath = Path.Combine(directory, FormatConstants.ManifestFileName);
        if (File.Exists(manifestPath))
        {
            if (!options.Overwrite)
                throw new IOException($"{directory} already holds a store: use --resume to finish it or --force to replace it");
            File.Delete(manifestPath);
            string shards = Path.Combine(directory, FormatConstants.ShardDirectory);
            if (Directory.Exists(shards)) Directory.Delete(shards, recursive: true);
            string dictionaries = Path.Combine(directory, FormatConstants.DictionaryDirectory);
            if (Directory.Exists(dictionaries)) Directory.Delete(dictionaries, recursive: true);
        }
        Directory.CreateDirectory(Path.Combine(directory, FormatConstants.ShardDirectory));
        var manifest = new Manifest
        {
            StoreId = Manifest.NewId(),
            Status = Manifest.StatusPartial,
            VocabSize = options.VocabSize,
            Tokenizer = options.Tokenizer,
            Teacher = options.Teacher,
            Processing = ManifestSections.ToSection(options.Processing),
            Codecs = ManifestSections.ToSection(options.Codecs),
            Source = options.Source,
            Partition = options.Partition,
        };
        WriteManifest(directory, manifest);
        return new StoreWriter(directory, manifest, options.Workers, options.Codecs, options.Codecs.RankTable, options.Codecs.Codebooks);
    }

    /// <summary>Reopens a partial store to finish it: removes uncommitted files and continues after the last committed shard.</summary>
    public static StoreWriter Resume(string directory, int workers = 0)
    {
        var manifest = Manifest.Load(directory);
        if (manifest.IsComplete) throw new InvalidOperationException($"{directory} is already complete: nothing to resume");
        using (LogitStore.Reading.StoreReader.Open(directory)) { } // validates every committed shard
        RemoveUncommitted(directory, manifest);
        return new StoreWriter(
            directory,
            manifest,
            workers > 0 ? workers : Environment.ProcessorCount,
            ManifestSections.FromSection(manifest.Codecs),
            null,
            null);
    }

    public Manifest Manifest => _manifest;

    /// <summary>Id of the next sequence this writer expects.</summary>
    public ulong NextSequence => _nextSequence;

    public int SequencesPerBlock => _sequencesPerBlock;

    public long WrittenPositions => Interlocked.Read(ref _writtenPositions);

    public long WrittenSequences => Interlocked.Read(ref _writtenSequences);

    /// <summary>The codecs blocks are encoded with; null until the dictionaries they need are trained.</summary>
    public BlockCodecs? Codecs => _codecs;

    /// <summary>Called with a line of text when the writer trains dictionaries.</summary>
    public Action<string>? Log { get; set; }

    public async ValueTask AppendAsync(SparseSequence sequence, CancellationToken cancellationToken = default)
    {
        _pending.Add(sequence);
        if (_pending.Count == _sequencesPerBlock) await SubmitPendingAsync(cancellationToken);
    }

    private static uint ParseRef(string? hex) =>
        hex is { Length: 8 } && uint.TryParse(hex, System.Globalization.NumberStyles.HexNumber, null, out uint r) ? r : 0;

    /// <summary>
    /// Writes the dictionaries the codecs use into the store (before any shard that refers to them) and resolves the codecs.
    /// </summary>
    private void InstallDictionaries(IdRankTable? rankTable, MvqCodebooks? codebooks)
    {
        bool changed = false;
        if (rankTable is not null)
            changed |= Install(DictionaryKind.IdRankTable, rankTable.FileBytes, rankTable.Ref, r => _manifest.Codecs.IdsDictionary = r);
        if (codebooks is not null)
            changed |= Install(DictionaryKind.MvqCodebooks, codebooks.FileBytes, codebooks.Ref, r => _manifest.Codecs.ValuesDictionary = r);
        if (changed) WriteManifest(_directory, _manifest);
        _codecs = _codecOptions.Resolve(_manifest.VocabSize, _draws, rankTable, codebooks);
    }

    private bool Install(DictionaryKind kind, byte[] bytes, uint reference, Action<string> setRef)
    {
        string hex = DictionaryFile.RefHex(reference);
        setRef(hex);
        if (_manifest.Dictionaries.Any(d => d.Ref == hex)) return true;
        _manifest.Dictionaries.Add(StoreDictionaries.WriteToStore(_directory, kind, bytes, reference));
        return true;
    }

    /// <summary>Collects a block for dictionary training; trains once enough positions are in, then submits what was held back.</summary>
    private async ValueTask CollectForTrainingAsync(ulong first, SparseSequence[] sequences, bool final, CancellationToken ct)
    {
        if (sequences.Length > 0)
        {
            BlockEncoder.Validate(sequences, first, _manifest.VocabSize); // refuse bad input now, not after training
            _trainingBlocks.Add((first, sequences));
            foreach (var s in sequences) _trainingPositions += s.Length;
        }
        if (!final && _trainingPositions < _codecOptions.DictionarySample) return;
        var sample = _trainingBlocks.SelectMany(b => b.Sequences).ToList();
        int m = CodecRegistry.MvqCodebookCount(_codecOptions.Values);
        var (table, books) = await Task.Run(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var t = _codecOptions.Ids == "ranked" ? DictionaryTraining.RankTable(sample, _manifest.VocabSize) : null;
            var b = m > 0
                ? DictionaryTraining.Codebooks(
                    sample,
                    m,
                    _codecOptions.DictionarySample,
                    r => Log?.Invoke(
                        $"trained {m} mvq codebooks on {r.Vectors} positions (D = {r.Dimensions}) in {r.Elapsed.TotalSeconds:F1} s"))
                : null;
            if (t is not null)
                Log?.Invoke(
                    $"built the id rank table from {sample.Sum(s => (long)s.EntryCount)} kept ids in {clock.Elapsed.TotalSeconds:F1} s");
            return (t, b);
        }, ct);
        InstallDictionaries(table, books);
        foreach (var (f, seqs) in _trainingBlocks)
        {
            var codecs = _codecs!;
            await EnqueueAsync(Task.Run(() => BlockEncoder.Encode(seqs, f, codecs, _manifest.VocabSize), ct), ct);
        }
        _trainingBlocks.Clear();
    }

    /// <summary>
    /// Appends one block whose <paramref name="count"/> sequences are produced by <paramref name="produce"/> on a
    /// worker thread (generation, teacher post-processing and encoding all run in parallel).
    /// </summary>
    public ValueTask AppendBlockAsync(int count, Func<IReadOnlyList<SparseSequence>> produce, CancellationToken cancellationToken = default)
    {
        if (_pending.Count != 0) throw new InvalidOperationException("AppendBlockAsync cannot follow a partial block of AppendAsync");
        ulong first = Reserve(count);
        if (_codecs is null) return CollectAsync();
        var codecs = _codecs;
        var task = Task.Run(() => BlockEncoder.Encode(Produce(), first, codecs, _manifest.VocabSize), cancellationToken);
        return EnqueueAsync(task, cancellationToken);

        IReadOnlyList<SparseSequence> Produce()
        {
            var seqs = produce();
            if (seqs.Count != count)
                throw new InvalidOperationException($"block producer returned {seqs.Count} sequences, expected {count}");
            return seqs;
        }

        async ValueTask CollectAsync() =>
            await CollectForTrainingAsync(first, (await Task.Run(Produce, cancellationToken)).ToArray(), final: false, cancellationToken);
    }

    /// <summary>Writes what is pending, commits the last shard and marks the store complete.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_pending.Count > 0) await SubmitPendingAsync(cancellationToken);
        if (_codecs is null) await CollectForTrainingAsync(0, [], final: true, cancellationToken);
        _blocks.Writer.TryComplete();
        await _consumer;
        if (_shard is { BlockCount: > 0 }) CommitShard();
        _manifest.Status = Manifest.StatusComplete;
        WriteManifest(_directory, _manifest);
        _completed = true;
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

    private ValueTask SubmitPendingAsync(CancellationToken ct)
    {
        var batch = _pending.ToArray();
        _pending.Clear();
        ulong first = Reserve(batch.Length);
        if (_codecs is null) return CollectForTrainingAsync(first, batch, final: false, ct);
        var codecs = _codecs;
        var task = Task.Run(() => BlockEncoder.Encode(batch, first, codecs, _manifest.VocabSize), ct);
        return EnqueueAsync(task, ct);
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
                    _directory, FormatConstants.ShardFileName(_manifest.Shards.Count), _manifest.VocabSize, block.FirstSequence, _packId);
                _shard.Append(block);
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
        WriteManifest(_directory, _manifest);
    }

    private static void WriteManifest(string directory, Manifest manifest)
    {
        manifest.RecomputeTotals();
        DurableFile.WriteAtomic(Path.Combine(directory, FormatConstants.ManifestFileName), manifest.ToUtf8());
    }

    private static void RemoveUncommitted(string directory, Manifest manifest)
    {
        var listed = new HashSet<string>(manifest.Shards.Select(s => Path.GetFullPath(Path.Combine(directory, s.File))));
        string shards = Path.Combine(directory, FormatConstants.ShardDirectory);
        if (!Directory.Exists(shards)) return;
        foreach (string f in Directory.EnumerateFiles(shards))
            if (!listed.Contains(Path.GetFullPath(f))) File.Delete(f);
        string tmpManifest = Path.Combine(directory, FormatConstants.ManifestFileName + FormatConstants.TempSuffix);
        if (File.Exists(tmpManifest)) File.Delete(tmpManifest);
    }

    public async ValueTask DisposeAsync()
    {
        if (_completed) return;
        _blocks.Writer.TryComplete();
        try { await _consumer; } catch { /* the caller already saw the failure */ }
        _shard?.Dispose();
        _shard = null;
    }
}
