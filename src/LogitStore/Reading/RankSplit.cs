namespace LogitStore.Reading;

/// <summary>
/// The one rule that splits a store's blocks among the ranks of a data-parallel job: the block at place i of an
/// order (the store's, or an epoch's shuffle) goes to rank i mod world size. Ranks never decode the same block, and
/// their shares differ by at most one block.
/// </summary>
internal readonly record struct RankSplit
{
    public RankSplit(int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new ArgumentException($"rank {rank} of world size {worldSize}: need 0 <= rank < world size");
        Rank = rank;
        WorldSize = worldSize;
    }

    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>How many of <paramref name="count"/> places this rank gets.</summary>
    public int CountOf(int count) => Math.Max(0, (count - Rank + WorldSize - 1) / WorldSize);

    /// <summary>The place of this rank's <paramref name="k"/>-th block in the order.</summary>
    public int PlaceOf(int k) => Rank + k * WorldSize;

    /// <summary>The places of an order of <paramref name="count"/> blocks that this rank reads, in order.</summary>
    public IEnumerable<int> PlacesOf(int count)
    {
        for (int k = 0; k < CountOf(count); k++) yield return PlaceOf(k);
    }
}
