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
    public required string Output { get; init; }
    public int SequenceLength { get; init; } = 128;
    public int BatchSize { get; init; } = 8;
    public string Device { get; init; } = "auto";
    public long MaxTokens { get; init; } = long.MaxValue;
    public ProcessingOptions Processing { get; init; } = new();
    public CodecOptions Codecs { get; init; } = new();
    public bool Overwrite { get; init; }
    public int Workers { get; init; }

    /// <summary>Which sequences: <c>all</c> (training split, then held-out), <c>train</c> or <c>held-out</c>.</summary>
    public string Split { get; init; } = "all";
}

/// <summary>Where a teacher pack's time went (seconds of the producing thread; encoding runs beside it on the writer's pool).</summary>
public sealed record TeacherPackTiming(
    long Tokens, double Seconds, double Forward, double TopKAndTransfer, double HostProcessing, double WaitingForWriter)
{
    public double TokensPerSecond => Tokens / Seconds;

    /// <summary>The side that bounds the rate: the teacher (forward + transfer) or the CPU encoders (the wait for the writer).</summary>
    public string Bound => WaitingForWriter > Forward + TopKAndTransfer ? "encode/write (CPU)" : "teacher forward (device)";
}

/// <summary>
/// Runs a teacher checkpoint over a tokenised corpus (training split, then held-out) in batches, with no grad
/// (bf16 on CUDA), processes logits on the device, and writes the store through <see cref="StoreWriter"/>, whose
/// bounded channel lets the forward pass run ahead of encoding until the CPU truly cannot keep up.
/// </summary>
public static class TeacherPack
{
    public static async Task<(Manifest Manifest, TeacherPackTiming Timing)> RunAsync(
        TeacherPackOptions o, PackProgress? progress = null, CancellationToken ct = default)
    {
        var device = TorchRuntime.Device(o.Device);
        using var model = Model.Checkpoint.Load(o.Checkpoint, device);
        if (device.type == DeviceType.CUDA) model.to(ScalarType.BFloat16);
        model.eval();
        var tokenizer = TextTokenizer.Create();
        if (model.Vocabulary.FullSize != tokenizer.VocabSize)
            throw new ArgumentException($"the teacher's vocabulary is {model.Vocabulary.FullSize}, the tokenizer's {tokenizer.VocabSize}");
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(o.Corpus), tokenizer, o.SequenceLength, maxTokens: o.MaxTokens);
        var (firstSequence, total) = o.Split switch
        {
            "all" => (0, corpus.TrainSequences + corpus.HeldOutSequences),
            "train" => (0, corpus.TrainSequences),
            "held-out" => (corpus.TrainSequences, corpus.HeldOutSequences),
            _ => throw new ArgumentException($"unknown split '{o.Split}' (all, train, held-out)"),
        };
        var processor = new DeviceLogitsProcessor(o.Processing);
        await using var writer = StoreWriter.Create(o.Output, new StoreWriterOptions
        {
            VocabSize = (uint)tokenizer.VocabSize,
            Tokenizer = new TokenizerInfo { Name = tokenizer.Name, VocabHash = tokenizer.VocabHash() },
            Teacher = new()
            {
                ["id"] = Path.GetFullPath(o.Checkpoint),
                ["weights_xxh3"] = Model.Checkpoint.WeightsHash(o.Checkpoint),
                ["parameters"] = model.Config.ParameterCount(),
                ["output_ids"] = model.Vocabulary.Candidates,
            },
            Processing = o.Processing,
            Codecs = o.Codecs,
            Source = new()
            {
                ["kind"] = "corpus", ["corpus"] = Path.GetFullPath(o.Corpus), ["sequence_length"] = o.SequenceLength, ["split"] = o.Split,
                ["order"] = "train split then held-out split", ["sequences"] = total,
            },
            Overwrite = o.Overwrite,
            Workers = o.Workers > 0 ? o.Workers : Environment.ProcessorCount,
        });
        progress?.Start(writer, (long)total * o.SequenceLength, 0);
        var clock = Stopwatch.StartNew();
        double forward = 0, topk = 0, host = 0, wait = 0;
        for (int first = 0; first < total; first += o.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            TorchRuntime.PrepareThread();
            int b = Math.Min(o.BatchSize, total - first);
            var tokens = new int[b][];
            var ids = new ulong[b];
            var flat = new long[b * o.SequenceLength];
            for (int i = 0; i < b; i++)
            {
                int s = firstSequence + first + i;
                tokens[i] = (s < corpus.TrainSequences ? corpus.TrainSequence(s) : corpus.HeldOutSequence(s - corpus.TrainSequences))
                    .ToArray();
                ids[i] = (ulong)(first + i);
                for (int t = 0; t < o.SequenceLength; t++) flat[i * o.SequenceLength + t] = tokens[i][t];
            }
            SparseSequence[] seqs;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var t0 = Stopwatch.GetTimestamp();
                var logits = model.forward(tensor(flat, [b, o.SequenceLength]).to(device));
                if (device.type == DeviceType.CUDA) cuda.synchronize();
                forward += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                seqs = processor.Process(logits, model.Vocabulary, tokens, ids);
                topk += processor.LastTiming.Device;
                host += processor.LastTiming.Host;
            }
            var t2 = Stopwatch.GetTimestamp();
            foreach (var s in seqs) await writer.AppendAsync(s, ct);
            wait += Stopwatch.GetElapsedTime(t2).TotalSeconds;
        }
        await writer.CompleteAsync(ct);
        var timing = new TeacherPackTiming((long)total * o.SequenceLength, clock.Elapsed.TotalSeconds, forward, topk, host, wait);
        return (writer.Manifest, timing);
    }
}
