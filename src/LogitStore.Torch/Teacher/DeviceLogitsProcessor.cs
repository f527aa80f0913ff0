using LogitStore.Processing;
using LogitStore.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Teacher;

/// <summary>
/// Logits processing (spec 6) on the device with torch ops: temperature, softmax, top-k candidates (and inverse-CDF
/// draws for sampled); only the kept ids and probabilities cross to the host, where the nucleus cut and the
/// renormalisation happen per position.
/// </summary>
public sealed class DeviceLogitsProcessor
{
    /// <summary>Candidates examined for top-p when no k caps it.</summary>
    public const int TopPCandidates = 1024;

    private readonly ProcessingOptions _o;

    public DeviceLogitsProcessor(ProcessingOptions options)
    {
        options.Validate();
        if (options.Method == TruncationMethod.Full)
            throw new ArgumentException("method 'full' keeps the whole vocabulary: use a truncating method with a teacher");
        _o = options;
    }

    public ProcessingOptions Options => _o;

    /// <summary>Seconds the last <see cref="Process"/> spent in device ops + the copy to the host, and in the host cut.</summary>
    public (double Device, double Host) LastTiming { get; private set; }

    /// <summary>
    /// Turns logits [B, T, vocabulary.Size] into B sparse sequences whose input tokens are <paramref name="tokens"/>
    /// [B, T] (host); the entries are tokenizer ids, and a compact vocabulary's "other" mass stays in the residual.
    /// The sampled method's draws are seeded by the processing seed and the first sequence id of the batch.
    /// </summary>
    public SparseSequence[] Process(Tensor logits, OutputVocabulary vocabulary, int[][] tokens, ulong[] sequenceIds)
    {
        long b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
        int candidates = vocabulary.Candidates;
        int k = _o.Method switch
        {
            TruncationMethod.TopK or TruncationMethod.TopPK => Math.Min(_o.TopK, candidates),
            TruncationMethod.TopP => Math.Min(TopPCandidates, candidates),
            _ => 0,
        };
        float[] probs;
        long[] ids;
        int width;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        using (var scope = NewDisposeScope())
        {
            if (_o.Method == TruncationMethod.Sampled)
            {
                // "other" holds −1 here: never drawn.
                var weights = vocabulary.CandidateProbabilities(logits, _o.Temperature).reshape(-1, v).clamp_min(0);
                var sorted = Draw(weights, _o.Draws, (ulong)_o.Seed ^ sequenceIds[0]).sort(-1).Values;
                var picked = weights.gather(1, sorted);
                ids = vocabulary.ToFullIds(sorted).cpu().data<long>().ToArray();
                probs = picked.cpu().data<float>().ToArray();
                width = _o.Draws;
            }
            else
            {
                var (top, topIds) = vocabulary.TopCandidates(logits, _o.Temperature, k);
                probs = top.cpu().data<float>().ToArray();
                ids = topIds.cpu().data<long>().ToArray();
                width = k;
            }
        }
        long copied = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = new SparseSequence[b];
        var builder = new SparseSequenceBuilder();
        var keptIds = new int[width];
        var keptProbs = new float[width];
        for (int s = 0; s < b; s++)
        {
            builder.Clear();
            for (int pos = 0; pos < t; pos++)
            {
                int row = (int)((s * t + pos) * width);
                int n = _o.Method == TruncationMethod.Sampled ? Sampled(ids, probs, row, width, keptIds, keptProbs, out float residual)
                                                             : Truncated(ids, probs, row, width, keptIds, keptProbs, out residual);
                builder.AddPosition(tokens[s][pos], keptIds.AsSpan(0, n), keptProbs.AsSpan(0, n), residual);
            }
            result[s] = builder.Build();
        }
        LastTiming = (
            System.Diagnostics.Stopwatch.GetElapsedTime(started, copied).TotalSeconds,
            System.Diagnostics.Stopwatch.GetElapsedTime(copied).TotalSeconds);
        return result;
    }

    /// <summary>
    /// <paramref name="draws"/> ids per row of <paramref name="weights"/> [R, V] (≥ 0, unnormalised), with replacement, by
    /// the inverse CDF: uniforms come from a CPU generator seeded by <paramref name="seed"/> (TorchSharp's generators are
    /// CPU-only), so a seed gives the same draws on every device up to the rounding of the running sum. A zero weight is
    /// never drawn: its running sum equals its predecessor's, so the first sum above u is never its.
    /// </summary>
    internal static Tensor Draw(Tensor weights, int draws, ulong seed)
    {
        using var g = new torch.Generator(seed);
        var cdf = weights.cumsum(1);
        var total = cdf.narrow(1, cdf.shape[1] - 1, 1);
        // The uniforms' top is 1 − 2⁻²⁴; keep u·total below total after rounding as well.
        var u = rand([weights.shape[0], draws], generator: g).to(weights.device).mul_(total).mul_(1 - 1e-6);
        return searchsorted(cdf, u, right: true);
    }

    private int Truncated(long[] ids, float[] probs, int row, int width, int[] keptIds, float[] keptProbs, out float residual)
    {
        int n = TruncationRule.Kept<float>(_o, probs.AsSpan(row, width), width);
        double kept = 0;
        for (int j = 0; j < n; j++) kept += probs[row + j];
        for (int j = 0; j < n; j++)
        {
            keptIds[j] = (int)ids[row + j];
            keptProbs[j] = (float)(probs[row + j] / kept);
        }
        residual = (float)Math.Clamp(1 - kept, 0, 1);
        return n;
    }

    /// <summary>Sorted draws → unique ids with count/N (spec 6, sampled); residual = the true mass outside the drawn set.</summary>
    private static int Sampled(long[] ids, float[] probs, int row, int width, int[] keptIds, float[] keptProbs, out float residual)
    {
        int n = 0;
        double kept = 0;
        for (int j = 0; j < width; j++)
        {
            int id = (int)ids[row + j];
            if (n > 0 && keptIds[n - 1] == id) { keptProbs[n - 1] += 1f / width; continue; }
            keptIds[n] = id;
            keptProbs[n] = 1f / width;
            kept += probs[row + j];
            n++;
        }
        Codecs.EntryOrder.SortByRank(keptIds.AsSpan(0, n), keptProbs.AsSpan(0, n));
        residual = (float)Math.Clamp(1 - kept, 0, 1);
        return n;
    }
}
