using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Teacher;

/// <summary>
/// A teacher checkpoint over a corpus split as a pack source. The manifest records everything that shapes the
/// sequences (checkpoint and its weights hash, corpus, sequence length, split, token limit, batch size), so a resume
/// rebuilds the same corpus and runs the same batches: it restarts at the batch holding the next sequence and drops
/// what the store already has, so every forward sees the batch the uninterrupted pack saw.
/// </summary>
public sealed class TeacherPackSource : IPackSource
{
    public const string Kind = "corpus";

    private readonly TeacherPackOptions _o;
    private readonly Device _device;
    private readonly DecoderLM _model;
    private readonly TextTokenizer _tokenizer;
    private readonly TokenizedCorpus _corpus;
    private readonly int _firstSequence, _total;
    private readonly long _weightBytes, _loadedResidentBytes;

    /// <summary>
    /// Checks the checkpoint's config (every refusal is here, before a file is written), then loads its tokenizer,
    /// its weights and the corpus, in that order.
    /// </summary>
    private TeacherPackSource(TeacherPackOptions o)
    {
        if (o.BatchSize < 1) throw new ArgumentException($"the teacher batch must be >= 1 sequence, got {o.BatchSize}");
        if (o.SequenceLength < 2) throw new ArgumentException($"the sequence length must be >= 2, got {o.SequenceLength}");
        _o = o;
        _device = TorchRuntime.Device(o.Device);
        var config = CheckpointConfig.Read(o.Checkpoint, o.SequenceLength);
        _tokenizer = TextTokenizer.ForCheckpoint(o.Checkpoint);
        int modelVocabulary = config.FullVocabSize ?? config.VocabSize;
        if (_tokenizer.VocabSize > modelVocabulary)
            throw new ArgumentException(
                $"{o.Checkpoint}: the tokenizer ({_tokenizer.Name}) has {_tokenizer.VocabSize} ids, the model's vocabulary " +
                $"{modelVocabulary}");
        using (var weights = CheckpointWeights.Open(o.Checkpoint)) _weightBytes = weights.Bytes;
        _model = Model.Checkpoint.Load(o.Checkpoint, _device, o.SequenceLength, ComputeType);
        _model.eval();
        _loadedResidentBytes = ProcessMemory.PeakResidentBytes();
        try
        {
            _corpus = TokenizedCorpus.Build(
                TextDocuments.Read(o.Corpus, o.TextField), _tokenizer, o.SequenceLength, maxTokens: o.MaxTokens);
        }
        catch
        {
            _model.Dispose();
            throw;
        }
        (_firstSequence, _total) = o.Split switch
        {
            CorpusSplit.All => (0, _corpus.TrainSequences + _corpus.HeldOutSequences),
            CorpusSplit.Train => (0, _corpus.TrainSequences),
            _ => (_corpus.TrainSequences, _corpus.HeldOutSequences),
        };
        // A token limit packs that many tokens, rounded up to whole sequences.
        if (o.MaxTokens != long.MaxValue) _total = (int)Math.Min(_total, (o.MaxTokens + o.SequenceLength - 1) / o.SequenceLength);
    }

    public static TeacherPackSource Open(TeacherPackOptions o) => new(o);

    /// <summary>CUDA forwards run in BF16, CPU forwards in float32 (CPUs rarely have fast BF16 matmuls).</summary>
    private ScalarType ComputeType => _device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;

    private string ComputeTypeName => ComputeType == ScalarType.BFloat16 ? "bfloat16" : "float32";

    /// <summary>
    /// The source a partial teacher store was packed from. Refuses, before the resumed part is computed, anything
    /// that would make it differ from the committed part: changed weights, config or tokenizer files, a corpus that
    /// now makes another number of sequences, or another compute dtype (a resume on another kind of device).
    /// </summary>
    public static TeacherPackSource Resume(Manifest m, PackResumeInputs inputs)
    {
        string checkpoint = (string?)m.Teacher["id"] ?? throw new ArgumentException("the store's teacher has no id (checkpoint path)");
        void Same(string what, string? recorded, string actual, string consequence)
        {
            if (recorded is not null && recorded != actual)
                throw new InvalidOperationException(
                    $"{checkpoint}: the teacher's {what} is {actual}, the store was packed with {recorded}; {consequence}");
        }
        Same("weights hash", (string?)m.Teacher["weights_xxh3"] ?? "", Model.Checkpoint.WeightsHash(checkpoint),
            "the resumed part would come from another model");
        Same("config.json hash", (string?)m.Teacher["config_xxh3"], Model.Checkpoint.ConfigHash(checkpoint),
            "the resumed part would come from another forward");
        var tokenizer = TextTokenizer.ForCheckpoint(checkpoint);
        Same("tokenizer", $"{m.Tokenizer.Name} {m.Tokenizer.VocabHash}", $"{tokenizer.Name} {tokenizer.VocabHash()}",
            "the resumed part would be tokenised otherwise");
        var s = m.Source;
        long Number(string name) => (long?)s[name] ?? throw new ArgumentException($"the store's source has no '{name}'");
        var source = new TeacherPackSource(new TeacherPackOptions
        {
            Checkpoint = checkpoint,
            Corpus = (string?)s["corpus"] ?? throw new ArgumentException("the store's source has no 'corpus'"),
            TextField = (string?)s["text_field"] ?? TextDocuments.DefaultTextField,
            Output = "",
            SequenceLength = (int)Number("sequence_length"),
            BatchSize = (int)Number("batch"),
            MaxTokens = s["max_tokens"] is null ? long.MaxValue : Number("max_tokens"),
            Split = Choice.Parse<CorpusSplit>((string?)s["split"] ?? "all", "the store's source.split"),
            Device = inputs.Device,
            Processing = ManifestSections.FromSection(m.Processing),
        });
        try
        {
            if (s["sequences"] is { } sequences && (long)sequences != source._total)
                throw new InvalidOperationException(
                    $"{source._o.Corpus}: the corpus now makes {source._total} sequences, the store was packed from {sequences}; " +
                    "the resumed part would come from other text");
            Same("compute dtype", (string?)m.Teacher["compute_dtype"], source.ComputeTypeName,
                "resume on the device the pack began on");
        }
        catch
        {
            source._model.Dispose();
            throw;
        }
        return source;
    }

    /// <summary>Where the pack's time went; set when <see cref="FillAsync"/> returns.</summary>
    public TeacherPackTiming? Timing { get; private set; }

    public StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs)
    {
        var source = new System.Text.Json.Nodes.JsonObject
        {
            ["kind"] = Kind, ["corpus"] = Path.GetFullPath(_o.Corpus), ["sequence_length"] = _o.SequenceLength,
            ["split"] = Choice.Name(_o.Split),
            ["order"] = "train split then held-out split", ["sequences"] = _total, ["batch"] = _o.BatchSize,
        };
        if (_o.MaxTokens != long.MaxValue) source["max_tokens"] = _o.MaxTokens;
        if (_o.TextField != TextDocuments.DefaultTextField) source["text_field"] = _o.TextField;
        return new StoreWriterOptions
        {
            VocabSize = (uint)_model.Vocabulary.FullSize,
            Tokenizer = new TokenizerInfo { Name = _tokenizer.Name, VocabHash = _tokenizer.VocabHash() },
            Teacher = new()
            {
                ["id"] = Path.GetFullPath(_o.Checkpoint),
                ["architecture"] = _model.Config.Architectures[0],
                ["weights_xxh3"] = Model.Checkpoint.WeightsHash(_o.Checkpoint),
                ["config_xxh3"] = Model.Checkpoint.ConfigHash(_o.Checkpoint),
                ["compute_dtype"] = ComputeTypeName,
                ["parameters"] = _model.Config.ParameterCount(),
                ["output_ids"] = _model.Vocabulary.Candidates,
            },
            Processing = processing,
            Codecs = codecs,
            Source = source,
        };
    }

    public async Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct)
    {
        var processor = new DeviceLogitsProcessor(processing);
        int next = checked((int)writer.NextSequence), t = _o.SequenceLength;
        progress?.Start(writer, (long)_total * t, (long)next * t);
        var clock = Stopwatch.StartNew();
        double forward = 0, topk = 0, host = 0, wait = 0;
        for (int first = next - next % _o.BatchSize; first < _total; first += _o.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            TorchRuntime.PrepareThread();
            var (tokens, ids, flat) = Batch(first);
            int b = tokens.Length;
            SparseSequence[] seqs;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var t0 = Stopwatch.GetTimestamp();
                var logits = _model.forward(tensor(flat, [b, t]).to(_device));
                if (_device.type == DeviceType.CUDA) cuda.synchronize();
                forward += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                seqs = processor.Process(logits, _model.Vocabulary, tokens, ids);
                topk += processor.LastTiming.Device;
                host += processor.LastTiming.Host;
            }
            ReleaseNativeMemory();
            var t2 = Stopwatch.GetTimestamp();
            for (int i = Math.Max(0, next - first); i < seqs.Length; i++) await writer.AppendAsync(seqs[i], ct);
            wait += Stopwatch.GetElapsedTime(t2).TotalSeconds;
        }
        await writer.CompleteAsync(ct);
        Timing = new TeacherPackTiming(
            (long)(_total - next) * t, clock.Elapsed.TotalSeconds, forward, topk, host, wait, ProcessMemory.PeakResidentBytes(),
            _weightBytes, _loadedResidentBytes);
    }

    /// <summary>
    /// The bare teacher forward over the batches a pack runs (the logits made and dropped, nothing else), after one
    /// batch of warm-up: the rate a pack is measured against. Returns the tokens and the seconds the forwards took.
    /// </summary>
    public (long Tokens, double Seconds) ForwardOnly(CancellationToken ct = default)
    {
        double seconds = 0;
        for (int first = -_o.BatchSize; first < _total; first += _o.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            TorchRuntime.PrepareThread();
            var (tokens, _, flat) = Batch(Math.Max(0, first));
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var t0 = Stopwatch.GetTimestamp();
            _model.forward(tensor(flat, [tokens.Length, _o.SequenceLength]).to(_device));
            if (_device.type == DeviceType.CUDA) cuda.synchronize();
            if (first >= 0) seconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
            ReleaseNativeMemory();
        }
        return ((long)_total * _o.SequenceLength, seconds);
    }

    /// <summary>
    /// Collects after each batch. Every tensor of a batch is disposed with its scope, yet without a collection the
    /// process kept one batch of logits more per batch (measured on a 0.5B model over a 152k vocabulary: the resident
    /// set grew by 1.2 GiB a batch, to 12 GiB, until the GC ran; with this it stays at the weights plus one batch). A
    /// collection of this process's small managed heap costs milliseconds against a forward's hundreds.
    /// </summary>
    private static void ReleaseNativeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>The batch that starts at sequence <paramref name="first"/> of the split: tokens, global ids, flat input.</summary>
    private (int[][] Tokens, ulong[] Ids, long[] Flat) Batch(int first)
    {
        int b = Math.Min(_o.BatchSize, _total - first), t = _o.SequenceLength;
        var tokens = new int[b][];
        var ids = new ulong[b];
        var flat = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            int s = _firstSequence + first + i;
            tokens[i] = (s < _corpus.TrainSequences ? _corpus.TrainSequence(s) : _corpus.HeldOutSequence(s - _corpus.TrainSequences))
                .ToArray();
            ids[i] = (ulong)(first + i);
            for (int j = 0; j < t; j++) flat[i * t + j] = tokens[i][j];
        }
        return (tokens, ids, flat);
    }

    public ValueTask DisposeAsync()
    {
        _model.Dispose();
        return ValueTask.CompletedTask;
    }
}
