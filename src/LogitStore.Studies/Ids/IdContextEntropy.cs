using System.Globalization;
using System.Text;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Studies.Ids;

/// <summary>One context model of the id stream and what an adaptive coder would pay under it.</summary>
public sealed record IdModelRow(string Model, double BitsPerId, double BitsPerPosition, double TimesOrder0, string Notes);

/// <summary>How often the label (the next input token) is among the kept ids, and at which rank.</summary>
public sealed record LabelRanks(long Labelled, long Rank0, long Rank1To4, long Rank5Up, long NotKept, double FlagBitsPerPosition);

/// <summary>What storing each position's kept ids as a set (order fixed by the values) would save, and what q8 ties take back.</summary>
public sealed record SetSaving(double Log2FactorialBitsPerId, double AvailableBitsPerId, double PositionsWithTies);

/// <summary>Everything the id-entropy report shows.</summary>
public sealed record IdContextEntropyResult(
    string Store, long Positions, long Ids, double MeanKept, double IdsColumnBytesPerPosition, double IdsColumnBitsPerId,
    double PreviousSetOverlap, LabelRanks Labels, SetSaving Set, IReadOnlyList<IdModelRow> Rows);

/// <summary>
/// Empirical cost of a store's kept-id stream, in bits per id, under several context models (order-0, input token,
/// label, previous position's set, token bigrams, a mixture), each an adaptive estimator learnt causally in store order,
/// so every figure is what an arithmetic coder driven by that model would pay. Writes id-entropy.md and id-entropy.json.
/// </summary>
public static class IdContextEntropy
{
    /// <summary>Weight λ of the token-bigram estimate in the prior λ·b(x,s)/B(x) + (1 − λ)·P1(s).</summary>
    public const double BigramPriorWeight = 0.3;

    /// <summary>Ranks 0..14 get their own flag, index and mixture statistics; later ranks share one.</summary>
    public const int RankContexts = 16;

    public sealed record Options
    {
        /// <summary>Positions measured from the start of the store (0: all).</summary>
        public long Positions { get; init; }
    }

    public static IdContextEntropyResult Measure(StoreReader store, Options o, Action<string>? log = null)
    {
        int vocab = (int)store.VocabSize;
        int maxKept = store.MaxEntriesPerPosition ?? 256;
        long limit = o.Positions > 0 ? o.Positions : long.MaxValue;

        var order0 = new AdaptiveOrder0Model(vocab);
        var byInput = new AdaptiveContextModel(vocab);
        var byInputPair = new AdaptiveContextModel(vocab);
        var byInputRank = new AdaptiveContextModel(vocab);
        var byLabel = new AdaptiveContextModel(vocab);
        var inPreviousFlag = new AdaptiveSmallAlphabetModel(RankContexts, 2);
        var previousIndex = new AdaptiveSmallAlphabetModel(RankContexts, maxKept);
        var labelRankFlag = new AdaptiveSmallAlphabetModel(1, maxKept + 1);
        var mixture = new FixedShareMixture(RankContexts, 6);
        var bigrams = new Dictionary<long, int>();
        var bigramTotals = new int[vocab];
        var previousStamp = new long[vocab];
        var previousRank = new int[vocab];
        Array.Fill(previousStamp, -1);
        Span<double> mixed = stackalloc double[6];

        double bitsOrder0 = 0, bitsInput = 0, bitsInputPair = 0, bitsInputRank = 0;
        double bitsLabel = 0, bitsPrevious = 0, bitsBigram = 0, bitsMixture = 0;
        double bitsLabelFlag = 0, bitsLabelOthers = 0, log2Factorial = 0, log2FactorialAvailable = 0;
        long positions = 0, ids = 0, idsWithPrevious = 0, idsInPrevious = 0, positionsWithTies = 0;
        long labelled = 0, rank0 = 0, rank1To4 = 0, rank5Up = 0, notKept = 0;
        int blocks = 0;

        foreach (var block in store.ScanBlocks())
        {
            if (positions >= limit) break;
            // The decoder has the block's tokens column before its ids: the bigram table learns the block's pairs first.
            for (int s = 0; s < block.SequenceCount; s++)
            {
                var tokens = block.Sequence(s).Tokens;
                for (int t = 0; t + 1 < tokens.Length; t++)
                {
                    System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(
                        bigrams, ((long)tokens[t] << 32) | (uint)tokens[t + 1], out _)++;
                    bigramTotals[tokens[t]]++;
                }
            }
            for (int s = 0; s < block.SequenceCount && positions < limit; s++)
            {
                var sequence = block.Sequence(s);
                for (int t = 0; t < sequence.Length && positions < limit; t++)
                {
                    var kept = sequence.IdsAt(t);
                    var probs = sequence.ProbsAt(t);
                    int input = sequence.Tokens[t];
                    long inputPair = t > 0 ? (long)sequence.Tokens[t - 1] * vocab + input : -1;
                    bool hasLabel = t + 1 < sequence.Length;
                    int label = hasLabel ? sequence.Tokens[t + 1] : -1;
                    bool hasPrevious = t > 0;
                    long previousSerial = positions - 1;
                    int labelRank = -1;
                    double bigramTotal = bigramTotals[input];
                    for (int i = 0; i < kept.Length; i++)
                    {
                        int id = kept[i];
                        int rankContext = Math.Min(i, RankContexts - 1);
                        double p0 = order0.ProbabilityThenLearn(id);
                        double pInput = byInput.ProbabilityThenLearn(input, id, p0);
                        double pLabel = hasLabel ? byLabel.ProbabilityThenLearn(label, id, p0) : pInput;
                        double pInputRank = byInputRank.ProbabilityThenLearn(input * 4L + RankBucket(i), id, pInput);
                        double pInputPair = inputPair >= 0 ? byInputPair.ProbabilityThenLearn(inputPair, id, pInput) : pInput;
                        double pBigram = bigramTotal == 0 ? p0
                            : BigramPriorWeight * bigrams.GetValueOrDefault(((long)input << 32) | (uint)id) / bigramTotal
                                + (1 - BigramPriorWeight) * p0;
                        double pPrevious = pInput;
                        if (hasPrevious)
                        {
                            bool inPrevious = previousStamp[id] == previousSerial;
                            double flag = inPreviousFlag.ProbabilityThenLearn(rankContext, inPrevious ? 1 : 0);
                            pPrevious = inPrevious
                                ? flag * previousIndex.ProbabilityThenLearn(rankContext, Math.Min(previousRank[id], maxKept - 1))
                                : flag * pInput;
                            idsWithPrevious++;
                            if (inPrevious) idsInPrevious++;
                        }
                        mixed[0] = pInput;
                        mixed[1] = pLabel;
                        mixed[2] = pPrevious;
                        mixed[3] = pBigram;
                        mixed[4] = pInputPair;
                        mixed[5] = pInputRank;
                        double pMixture = mixture.ProbabilityThenLearn(rankContext, mixed);

                        bitsOrder0 -= Math.Log2(p0);
                        bitsInput -= Math.Log2(pInput);
                        bitsInputPair -= Math.Log2(pInputPair);
                        bitsInputRank -= Math.Log2(pInputRank);
                        bitsLabel -= Math.Log2(pLabel);
                        bitsBigram -= Math.Log2(pBigram);
                        bitsPrevious -= Math.Log2(pPrevious);
                        bitsMixture -= Math.Log2(pMixture);
                        if (id == label) labelRank = i;
                        else bitsLabelOthers -= Math.Log2(pLabel);
                    }
                    for (int i = 0; i < kept.Length; i++)
                    {
                        previousStamp[kept[i]] = positions;
                        previousRank[kept[i]] = i;
                    }
                    if (hasLabel)
                    {
                        labelled++;
                        if (labelRank < 0) notKept++;
                        else if (labelRank == 0) rank0++;
                        else if (labelRank <= 4) rank1To4++;
                        else rank5Up++;
                        int rankSymbol = labelRank < 0 ? maxKept : Math.Min(labelRank, maxKept - 1);
                        bitsLabelFlag -= Math.Log2(labelRankFlag.ProbabilityThenLearn(0, rankSymbol));
                    }
                    var (all, available, tied) = SetBits(probs);
                    log2Factorial += all;
                    log2FactorialAvailable += available;
                    if (tied) positionsWithTies++;
                    ids += kept.Length;
                    positions++;
                }
            }
            if (++blocks % 50 == 0) log?.Invoke($"{blocks} blocks, {positions:N0} positions, {ids:N0} ids");
        }

        var summary = StoreInspector.Inspect(store.Directory);
        double idsBytesPerPosition = summary.ColumnBytesPerToken(ColumnKind.Ids);
        double meanKept = (double)ids / Math.Max(1, positions);
        double perId(double bits) => bits / Math.Max(1, ids);
        double perPosition(double bits) => bits / Math.Max(1, positions);
        IdModelRow row(string model, double bits, string notes) =>
            new(model, perId(bits), perPosition(bits), bitsOrder0 == 0 ? 0 : bits / bitsOrder0, notes);
        var rows = new List<IdModelRow>
        {
            new("ids column as stored", idsBytesPerPosition * 8 / meanKept, idsBytesPerPosition * 8,
                bitsOrder0 == 0 ? 0 : idsBytesPerPosition * 8 / perPosition(bitsOrder0), "the store's ids column (column directory)"),
            row("1. order-0", bitsOrder0, "adaptive counts over ids; what the ranked codec approaches"),
            row("2. input token", bitsInput, "context: the position's input token; escapes to 1 (PPM-C)"),
            row("2b. input token pair", bitsInputPair,
                "context: previous and current input token; escapes to 2 (PPM-C chain 2b → 2 → 1); first position uses 2"),
            row("2r. input token × rank", bitsInputRank,
                "context: input token and the id's rank bucket (0, 1–4, 5–19, 20+); escapes to 2"),
            row("3. label", bitsLabel,
                "context: the next input token (in the tokens column, so free to a decoder); last position of a sequence uses 2"),
            row("3b. label + rank flag", bitsLabelFlag + bitsLabelOthers,
                "flag 'label kept at rank r / not kept' per labelled position, then the other ids under 3"),
            row("4. previous set", bitsPrevious,
                "flag 'in previous position's set' + index into it (both per rank), else 2; first position uses 2"),
            row("5. token bigram prior", bitsBigram,
                $"{BigramPriorWeight}·b(input,id)/B(input) + {1 - BigramPriorWeight}·P1(id); bigrams of the tokens column so far"),
            row("6. mixture of 2, 2b, 2r, 3, 4, 5", bitsMixture,
                $"fixed-share mixture (share {FixedShareMixture.Share}), weights per rank (0..{RankContexts - 2}, {RankContexts - 1}+)"),
            new("7. set instead of sequence", -perId(log2FactorialAvailable), -perPosition(log2FactorialAvailable), 0,
                "saving on top of 1, 2, 2b, 3, 5 (order-blind within a position): log2(n!) per position " +
                "less log2(m!) per run of m tied q8 values; " +
                $"untied log2(n!)/n = {perId(log2Factorial):F3} bits/id"),
        };
        return new IdContextEntropyResult(
            store.Directory, positions, ids, meanKept, idsBytesPerPosition, idsBytesPerPosition * 8 / meanKept,
            (double)idsInPrevious / Math.Max(1, idsWithPrevious),
            new LabelRanks(labelled, rank0, rank1To4, rank5Up, notKept, bitsLabelFlag / Math.Max(1, labelled)),
            new SetSaving(perId(log2Factorial), perId(log2FactorialAvailable), (double)positionsWithTies / Math.Max(1, positions)),
            rows);
    }

    private static int RankBucket(int rank) => rank == 0 ? 0 : rank <= 4 ? 1 : rank <= 19 ? 2 : 3;

    /// <summary>
    /// log2(n!) for a position's n kept entries, and the part still available when runs of equal quantised values
    /// (adjacent: entries are in rank order) leave their order undetermined: log2(n!) − Σ log2(m!).
    /// </summary>
    public static (double All, double Available, bool Tied) SetBits(ReadOnlySpan<float> rankOrderedValues)
    {
        double all = Log2Factorial(rankOrderedValues.Length), lost = 0;
        bool tied = false;
        for (int i = 0; i < rankOrderedValues.Length;)
        {
            int j = i + 1;
            while (j < rankOrderedValues.Length && rankOrderedValues[j] == rankOrderedValues[i]) j++;
            if (j - i > 1) { tied = true; lost += Log2Factorial(j - i); }
            i = j;
        }
        return (all, all - lost, tied);
    }

    private static double Log2Factorial(int n)
    {
        double sum = 0;
        for (int k = 2; k <= n; k++) sum += Math.Log2(k);
        return sum;
    }

    public static async Task<IdContextEntropyResult> RunAsync(
        string storeDirectory, string outDirectory, Options o, Action<string>? log = null)
    {
        using var store = StoreReader.Open(storeDirectory);
        var result = Measure(store, o, log);
        Directory.CreateDirectory(outDirectory);
        string command = $"logitstore bench id-entropy --store {storeDirectory} --out {outDirectory}"
            + (o.Positions > 0 ? $" --positions {o.Positions}" : "");
        await File.WriteAllTextAsync(Path.Combine(outDirectory, "id-entropy.md"), Markdown(result, command));
        await File.WriteAllTextAsync(Path.Combine(outDirectory, "id-entropy.json"),
            JsonSerializer.Serialize(new { command, result }, Manifest.JsonOptions));
        return result;
    }

    public static string Markdown(IdContextEntropyResult r, string command)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# Kept-id entropy under context models").AppendLine();
        md.AppendLine(c, $"`{command}`").AppendLine();
        md.AppendLine(c, $"Positions measured: {r.Positions:N0}; kept ids: {r.Ids:N0}; mean kept per position: {r.MeanKept:F2}.");
        md.AppendLine(c, $"Ids column as stored: {r.IdsColumnBytesPerPosition:F2} bytes/position, {r.IdsColumnBitsPerId:F2} bits/id.")
            .AppendLine();
        md.AppendLine("| model | bits/id | bits/position | × of order-0 | notes |");
        md.AppendLine("|---|---:|---:|---:|---|");
        foreach (var row in r.Rows)
            md.AppendLine(c, $"| {row.Model} | {row.BitsPerId:F3} | {row.BitsPerPosition:F1} | {row.TimesOrder0:F3} | {row.Notes} |");
        md.AppendLine();
        var l = r.Labels;
        double share(long n) => (double)n / Math.Max(1, l.Labelled);
        md.AppendLine(c, $"Label among the kept ids: {1 - share(l.NotKept):P1} of {l.Labelled:N0} labelled positions " +
            $"(rank 0: {share(l.Rank0):P1}, ranks 1–4: {share(l.Rank1To4):P1}, rank 5+: {share(l.Rank5Up):P1}, " +
            $"not kept: {share(l.NotKept):P1}); the rank-or-not-kept flag costs {l.FlagBitsPerPosition:F3} bits/position.");
        md.AppendLine(c, $"Previous position's set: {r.PreviousSetOverlap:P1} of kept ids (after a sequence's first position) were in it.");
        md.AppendLine(c, $"Set instead of sequence: log2(n!)/n = {r.Set.Log2FactorialBitsPerId:F3} bits/id; with q8 ties " +
            $"{r.Set.AvailableBitsPerId:F3} bits/id is available; {r.Set.PositionsWithTies:P1} of positions have a tie.")
            .AppendLine();
        md.AppendLine("Estimators, all adaptive and causal in store order (each id priced before it is counted):");
        md.AppendLine("- order-0: PPM method C over the vocabulary: a seen id c/(n+d), an unseen one d/(n+d)·1/V (V the vocabulary).");
        md.AppendLine("- context models (2, 3): PPM method C per context, escaping to order-0 without exclusion; 2b and 2r escape to 2.");
        md.AppendLine("- small alphabets (flags, ranks, indices): Laplace add-one counts per rank context.");
        md.AppendLine("- the tokens column is decoded before the ids, so the input token, the label and the block's bigrams are known.");
        md.AppendLine("- no exclusion of ids already coded at the position; a real coder could do slightly better.");
        return md.ToString();
    }
}
