using FsCheck.Xunit;
using LogitStore.Loading;

namespace LogitStore.Tests.Loading;

/// <summary>
/// The plan alone, over generated block sizes: a store's shape (every block full but the last, some left out as
/// damaged) or any sizes at all.
/// </summary>
public class BatchPlanTests
{
    /// <summary>Rows per block, as a store has them (full but the last; a few empty) or any sizes (0 to 12).</summary>
    private static int[] BlockRows(int shapeSeed, bool storeShaped)
    {
        var rng = new Random(shapeSeed);
        int n = rng.Next(1, 31), full = rng.Next(1, 13);
        var rows = new int[n];
        for (int b = 0; b < n; b++)
            rows[b] = !storeShaped ? rng.Next(0, 13)
                : rng.Next(7) == 0 ? 0
                : b == n - 1 ? rng.Next(1, full + 1)
                : full;
        return rows;
    }

    private static BatchLoaderOptions Options(int shapeSeed, ulong seed, bool shuffle, int rank = 0)
    {
        var rng = new Random(~shapeSeed);
        return new BatchLoaderOptions { BatchSize = rng.Next(1, 9), WorldSize = rng.Next(1, 5), Seed = seed, Shuffle = shuffle, Rank = rank };
    }

    /// <summary>The plan of those options and each rank's, or none where some rank gets fewer rows than a batch.</summary>
    private static BatchPlan[]? PlansOfEveryRank(int[] rows, BatchLoaderOptions options)
    {
        try
        {
            return [.. Enumerable.Range(0, options.WorldSize).Select(r => new BatchPlan(rows, options with { Rank = r }))];
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static List<PlannedRow> Epoch(BatchPlan plan, int epoch)
    {
        var order = plan.NewEpochOrder();
        var rows = new PlannedRow[plan.BatchSize];
        var all = new List<PlannedRow>();
        for (long s = epoch * plan.StepsPerEpoch; s < (epoch + 1) * plan.StepsPerEpoch; s++)
        {
            plan.RowsOf(s, rows, order);
            all.AddRange(rows);
        }
        return all;
    }

    [Property(MaxTest = 300)]
    public bool RanksOfAnEpoch_GetTheSameSteps_AndValidRowsNoTwoTheSame(int shapeSeed, ulong seed, bool shuffle, bool storeShaped)
    {
        var rows = BlockRows(shapeSeed, storeShaped);
        if (PlansOfEveryRank(rows, Options(shapeSeed, seed, shuffle)) is not { } plans) return true;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var taken = plans.SelectMany(p => Epoch(p, epoch)).ToList();
            if (plans.Any(p => p.StepsPerEpoch != plans[0].StepsPerEpoch)
                || taken.Any(r => r.Block < 0 || r.Block >= rows.Length || r.Row < 0 || r.Row >= rows[r.Block])
                || taken.Distinct().Count() != taken.Count)
                return false;
        }
        return true;
    }

    [Property(MaxTest = 300)]
    public bool RanksOfAnEpoch_TakeDisjointBlocks_EachWholeButTheLastItReaches(int shapeSeed, ulong seed, bool shuffle, bool storeShaped)
    {
        var rows = BlockRows(shapeSeed, storeShaped);
        if (PlansOfEveryRank(rows, Options(shapeSeed, seed, shuffle)) is not { } plans) return true;
        var owner = new Dictionary<int, int>();
        for (int rank = 0; rank < plans.Length; rank++)
        {
            var byBlock = Epoch(plans[rank], 1).GroupBy(r => r.Block).ToList();
            if (byBlock.Count(g => g.Count() < rows[g.Key]) > 1) return false;
            foreach (var g in byBlock)
                if (!owner.TryAdd(g.Key, rank)) return false;
        }
        return true;
    }

    [Property(MaxTest = 200)]
    public bool OneRank_OfAStore_CoversEveryRowOfAnEpoch_ButFewerThanABatch(int shapeSeed, ulong seed, bool shuffle)
    {
        var rows = BlockRows(shapeSeed, storeShaped: true);
        if (rows[^1] == 0) rows[^1] = 1;
        if (PlansOfEveryRank(rows, Options(shapeSeed, seed, shuffle) with { WorldSize = 1 }) is not [var plan]) return true;
        var taken = Epoch(plan, 3);
        return taken.Distinct().Count() == taken.Count && rows.Sum() - taken.Count is var left && left >= 0 && left < plan.BatchSize;
    }

    [Property(MaxTest = 200)]
    public bool SameInputs_GiveTheSamePlan_WhateverTheEpochOrderHeldBefore(int shapeSeed, ulong seed, bool shuffle, int[] earlierSteps)
    {
        var rows = BlockRows(shapeSeed, storeShaped: false);
        var options = Options(shapeSeed, seed, shuffle);
        if (PlansOfEveryRank(rows, options) is not { } plans) return true;
        var again = new BatchPlan(rows, options with { Rank = plans.Length - 1 });
        var used = again.NewEpochOrder();
        var scratch = new PlannedRow[again.BatchSize];
        foreach (int s in earlierSteps) again.RowsOf(Math.Abs((long)s) % (5 * again.StepsPerEpoch), scratch, used);
        for (long step = 0; step < 3 * again.StepsPerEpoch; step += 1 + step % 3)
        {
            again.RowsOf(step, scratch, used);
            if (!scratch.AsSpan().SequenceEqual(plans[^1].RowsOf(step))) return false;
        }
        return true;
    }

    [Property(MaxTest = 200)]
    public bool ResumingAtAStep_GivesTheTailOfTheFullRun(int shapeSeed, ulong seed, bool shuffle, byte resumeAt)
    {
        var rows = BlockRows(shapeSeed, storeShaped: true);
        if (PlansOfEveryRank(rows, Options(shapeSeed, seed, shuffle)) is not { } plans) return true;
        var plan = plans[^1];
        long end = 3 * plan.StepsPerEpoch, start = resumeAt % end;
        var full = Enumerable.Range(0, 3).SelectMany(e => Epoch(plan, e)).ToList();
        var resumed = new BatchPlan(rows, Options(shapeSeed, seed, shuffle, plans.Length - 1));
        var order = resumed.NewEpochOrder();
        var batch = new PlannedRow[resumed.BatchSize];
        var tail = new List<PlannedRow>();
        for (long s = start; s < end; s++)
        {
            resumed.RowsOf(s, batch, order);
            tail.AddRange(batch);
        }
        return tail.SequenceEqual(full.Skip((int)(start * plan.BatchSize)));
    }

    [Fact]
    public void WithoutShuffle_RowsComeInStoreOrder_PastEmptyBlocks()
    {
        var plan = new BatchPlan([3, 0, 3, 2], new BatchLoaderOptions { BatchSize = 2, Shuffle = false });
        Assert.Equal(4, plan.StepsPerEpoch);
        var rows = Enumerable.Range(0, 4).SelectMany(s => plan.RowsOf(s)).ToArray();
        PlannedRow[] expected = [new(0, 0), new(0, 1), new(0, 2), new(2, 0), new(2, 1), new(2, 2), new(3, 0), new(3, 1)];
        Assert.Equal(expected, rows);
    }

    [Fact]
    public void Seeds_GiveOtherOrders_AndEveryEpochReshuffles()
    {
        int[] blocks = [.. Enumerable.Repeat(8, 16)];
        var a = new BatchPlan(blocks, new BatchLoaderOptions { BatchSize = 4, Seed = 1 });
        var b = new BatchPlan(blocks, new BatchLoaderOptions { BatchSize = 4, Seed = 2 });
        Assert.NotEqual(Epoch(a, 0), Epoch(b, 0));
        Assert.NotEqual(Epoch(a, 0), Epoch(a, 1));
        Assert.Equal(Epoch(a, 0).ToHashSet(), Epoch(a, 1).ToHashSet());
    }

    [Fact]
    public void StepsPerEpoch_AreTheFewestRowsAnyRankCanHold_InWholeBatches()
    {
        // Ten blocks of 4 rows but a short last one (1 row) over 3 ranks: a rank holds at least 3 blocks, at worst the
        // short one among them: 4 + 4 + 1 = 9 rows, 4 batches of 2.
        int[] blocks = [4, 4, 4, 4, 4, 4, 4, 4, 4, 1];
        Assert.All(Enumerable.Range(0, 3), rank =>
            Assert.Equal(4, new BatchPlan(blocks, new BatchLoaderOptions { BatchSize = 2, WorldSize = 3, Rank = rank }).StepsPerEpoch));
        // Sizes no store has: the bound falls back on the smallest blocks (here 1 + 1 + 4 rows).
        int[] uneven = [4, 1, 4, 1, 4, 4, 4, 4, 4, 4];
        Assert.Equal(3, new BatchPlan(uneven, new BatchLoaderOptions { BatchSize = 2, WorldSize = 3 }).StepsPerEpoch);
    }

    [Fact]
    public void TooFewRows_OrAStepPastTheLastEpoch_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => new BatchPlan([2, 1], new BatchLoaderOptions { BatchSize = 4 }));
        var plan = new BatchPlan([2, 2], new BatchLoaderOptions { BatchSize = 4 });
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.RowsOf(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.RowsOf((long)int.MaxValue + 1));
        var other = new BatchPlan([2, 2], new BatchLoaderOptions { BatchSize = 4 });
        Assert.Throws<ArgumentException>(() => plan.RowsOf(0, new PlannedRow[4], other.NewEpochOrder()));
    }
}
