using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>
/// The ids a model's output layer covers. Either the tokenizer's whole vocabulary, or a compact subset (the ids that
/// occur in the training corpus) plus one last output, "other", whose probability is spread evenly over every id
/// outside the subset. Either way the model defines a distribution over the whole vocabulary, and everything that
/// leaves the model (store entries, argmax, losses) speaks tokenizer ids: the mapping happens here and nowhere else.
/// </summary>
/// <remarks>
/// Methods that take log-probabilities take them in the model's layout, as <see cref="LogSoftmax"/> returns them:
/// one column per output, the "other" column holding the log of the whole bucket's mass.
/// </remarks>
public sealed class OutputVocabulary
{
    private readonly int[]? _fullIds;
    private readonly Dictionary<DeviceType, (Tensor ToCompact, Tensor ToFull)> _tables = new();

    private OutputVocabulary(int fullSize, int[]? fullIds)
    {
        FullSize = fullSize;
        _fullIds = fullIds;
        Size = fullIds is null ? fullSize : fullIds.Length + 1;
    }

    /// <summary>The tokenizer's vocabulary size V.</summary>
    public int FullSize { get; }

    /// <summary>Outputs of the model: V, or the compact ids plus "other".</summary>
    public int Size { get; }

    public bool IsCompact => _fullIds is not null;

    /// <summary>The output index of the "other" bucket (compact vocabularies only).</summary>
    public int Other => IsCompact ? Size - 1 : throw new InvalidOperationException("a full vocabulary has no 'other' output");

    /// <summary>Tokenizer ids of the compact outputs 0 … Size−2, ascending (empty for a full vocabulary).</summary>
    public ReadOnlySpan<int> FullIds => _fullIds;

    /// <summary>Ids outside the compact subset, over which "other" spreads its mass.</summary>
    public int Unmapped => IsCompact ? FullSize - (Size - 1) : 0;

    private double LogUnmapped => Math.Log(Math.Max(1, Unmapped));

    public static OutputVocabulary Full(int fullSize)
    {
        if (fullSize < 2) throw new ArgumentException($"a vocabulary needs at least 2 ids, not {fullSize}");
        return new OutputVocabulary(fullSize, null);
    }

    /// <summary>A compact vocabulary over <paramref name="ids"/> (distinct tokenizer ids, below <paramref name="fullSize"/>).</summary>
    public static OutputVocabulary Compact(int fullSize, IEnumerable<int> ids)
    {
        var sorted = ids.Distinct().Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("a compact vocabulary needs at least one id");
        if (sorted[0] < 0 || sorted[^1] >= fullSize)
            throw new ArgumentException($"compact vocabulary ids must lie in [0, {fullSize}), found {sorted[0]} … {sorted[^1]}");
        if (sorted.Length >= fullSize) return Full(fullSize);
        return new OutputVocabulary(fullSize, sorted);
    }

    /// <summary>The ids that occur in <paramref name="tokens"/> (a training split), plus "other".</summary>
    public static OutputVocabulary FromCorpus(ReadOnlySpan<int> tokens, int fullSize)
    {
        var seen = new bool[fullSize];
        foreach (int t in tokens) seen[t] = true;
        return Compact(fullSize, Enumerable.Range(0, fullSize).Where(i => seen[i]));
    }

    /// <summary>Tokenizer ids [any shape] → output indexes (unmapped ids → <see cref="Other"/>).</summary>
    public Tensor ToOutputs(Tensor fullIds) =>
        IsCompact ? Tables(fullIds.device).ToCompact.index_select(0, fullIds.flatten()).view(fullIds.shape) : fullIds;

    /// <summary>Output indexes → tokenizer ids; "other" becomes −1, which is no id.</summary>
    public Tensor ToFullIds(Tensor outputs) =>
        IsCompact ? Tables(outputs.device).ToFull.index_select(0, outputs.flatten()).view(outputs.shape) : outputs;

    /// <summary>
    /// Log-probabilities of the model's full-vocabulary distribution at temperature τ, in the model's layout. A
    /// compact model is the full-vocabulary model whose unmapped ids all have the logit z_other − log U (U =
    /// <see cref="Unmapped"/>); softening that by τ gives the bucket the logit z_other/τ + (1 − 1/τ)·log U.
    /// </summary>
    public Tensor LogSoftmax(Tensor logits, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var z = logits.to_type(ScalarType.Float32);
        if (temperature != 1.0) z = z / temperature;
        if (IsCompact && temperature != 1.0)
        {
            var shift = zeros(Size, device: z.device);
            shift[Other] = (1 - 1 / temperature) * LogUnmapped;
            z = z + shift;
        }
        return nn.functional.log_softmax(z, -1).MoveToOuterDisposeScope();
    }

    /// <summary>log q(id) at tokenizer ids [.., K], from log-probabilities [.., Size]; an unmapped id gets its share of "other".</summary>
    public Tensor LogProbAt(Tensor logProbs, Tensor fullIds) => Gather(logProbs, fullIds).AtIds;

    /// <summary>
    /// Everything a loss reads of log-probabilities [.., Size], in one gather: log q at tokenizer ids [.., K] and, for a
    /// compact vocabulary, the "other" column [..] (null for a full one). Autograd turns each gather into a zero-filled
    /// tensor of the logits' size in backward, so a loss reads all it needs at once.
    /// </summary>
    public (Tensor AtIds, Tensor? Other) Gather(Tensor logProbs, Tensor fullIds)
    {
        if (!IsCompact) return (logProbs.gather(-1, fullIds), null);
        using var scope = NewDisposeScope();
        var outputs = ToOutputs(fullIds);
        long k = outputs.shape[^1];
        var otherIndex = full_like(outputs.narrow(-1, 0, 1), Other);
        var read = logProbs.gather(-1, cat([outputs, otherIndex], -1));
        var atIds = read.narrow(-1, 0, k) - outputs.eq(Other).to_type(read.dtype) * LogUnmapped;
        return (atIds.MoveToOuterDisposeScope(), read.select(-1, k).MoveToOuterDisposeScope());
    }

    /// <summary>Σ over the whole vocabulary of log q, [..]; <paramref name="other"/> is <see cref="Gather"/>'s.</summary>
    public Tensor SumOfLogProbs(Tensor logProbs, Tensor? other)
    {
        if (!IsCompact) return logProbs.sum(-1);
        using var scope = NewDisposeScope();
        // Σ_mapped lp + U·(lp_other − log U), written with the sum over every output so that no slice of the
        // log-probabilities (a zero-filled tensor of their size in backward) is needed.
        var sum = logProbs.sum(-1) + other! * (Unmapped - 1) - Unmapped * LogUnmapped;
        return sum.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Σ over the whole vocabulary of q log q (the negative entropy), [..]; <paramref name="other"/> is
    /// <see cref="Gather"/>'s.
    /// </summary>
    public Tensor SumOfQLogQ(Tensor logProbs, Tensor? other)
    {
        using var scope = NewDisposeScope();
        var sum = (logProbs.exp() * logProbs).sum(-1);
        if (IsCompact) sum = sum - other!.exp() * LogUnmapped;   // the bucket's ids each hold q_other/U
        return sum.MoveToOuterDisposeScope();
    }

    /// <summary>Next-token cross-entropy (nats) over the whole vocabulary for logits [N, Size] and tokenizer-id targets [N].</summary>
    public Tensor CrossEntropy(Tensor logits, Tensor fullTargets, nn.Reduction reduction = nn.Reduction.Mean)
    {
        using var scope = NewDisposeScope();
        var lp = LogProbAt(LogSoftmax(logits), fullTargets.unsqueeze(-1)).squeeze(-1);
        var loss = reduction switch
        {
            nn.Reduction.Sum => -lp.sum(),
            nn.Reduction.Mean => -lp.mean(),
            _ => -lp,
        };
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Probabilities [.., Size] at temperature τ for truncation: the true probabilities of the mapped ids, and −1 in
    /// the "other" column, so that top-k never picks it and its mass stays in the residual.
    /// </summary>
    public Tensor CandidateProbabilities(Tensor logits, double temperature)
    {
        using var scope = NewDisposeScope();
        var p = LogSoftmax(logits, temperature).exp();
        if (IsCompact) p.select(-1, Other).fill_(-1);
        return p.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The <paramref name="k"/> most probable candidates at each position of logits [.., Size]: probabilities after
    /// temperature, in descending order, and their tokenizer ids. A full vocabulary takes the top k of the logits and
    /// normalises only those by the log-sum-exp, so the softmax over the whole vocabulary is never written out.
    /// </summary>
    public (Tensor Probabilities, Tensor Ids) TopCandidates(Tensor logits, double temperature, int k)
    {
        using var scope = NewDisposeScope();
        Tensor probabilities, outputs;
        if (IsCompact) (probabilities, outputs) = CandidateProbabilities(logits, temperature).topk(k, -1);
        else
        {
            // Rows in blocks, so the log-sum-exp's temporaries take a block's memory, not the batch's logits' again.
            var rows = logits.reshape(-1, logits.shape[^1]);
            var blocks = new List<(Tensor, Tensor)>();
            for (long first = 0; first < rows.shape[0]; first += NormaliserRows)
            {
                var z = rows.narrow(0, first, Math.Min(NormaliserRows, rows.shape[0] - first)).to_type(ScalarType.Float32);
                if (temperature != 1.0) z = z / temperature;
                var (top, at) = z.topk(k, -1);
                blocks.Add(((top - z.logsumexp(-1, keepdim: true)).exp_(), at));
            }
            long[] shape = [.. logits.shape[..^1], k];
            probabilities = cat(blocks.Select(b => b.Item1).ToList(), 0).view(shape);
            outputs = cat(blocks.Select(b => b.Item2).ToList(), 0).view(shape);
        }
        return (probabilities.MoveToOuterDisposeScope(), ToFullIds(outputs).MoveToOuterDisposeScope());
    }

    /// <summary>Positions normalised at once by <see cref="TopCandidates"/>.</summary>
    private const long NormaliserRows = 256;

    /// <summary>Candidates a top-k may take: every output but "other".</summary>
    public int Candidates => IsCompact ? Size - 1 : Size;

    /// <summary>The most likely tokenizer id at each position of logits [.., Size] ("other" is never the answer).</summary>
    public Tensor Argmax(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var top = IsCompact ? logits.narrow(-1, 0, Size - 1).argmax(-1) : logits.argmax(-1);
        return ToFullIds(top).MoveToOuterDisposeScope();
    }

    private (Tensor ToCompact, Tensor ToFull) Tables(Device device)
    {
        lock (_tables)
        {
            if (_tables.TryGetValue(device.type, out var t)) return t;
            var toCompact = Enumerable.Repeat((long)Other, FullSize).ToArray();
            for (int i = 0; i < _fullIds!.Length; i++) toCompact[_fullIds[i]] = i;
            var toFull = _fullIds.Select(id => (long)id).Append(-1L).ToArray();
            t = (tensor(toCompact).to(device).DetachFromDisposeScope(), tensor(toFull).to(device).DetachFromDisposeScope());
            _tables[device.type] = t;
            return t;
        }
    }
}
