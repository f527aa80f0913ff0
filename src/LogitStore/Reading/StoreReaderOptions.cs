namespace LogitStore.Reading;

/// <summary>How a store is opened.</summary>
public sealed record StoreReaderOptions
{
    /// <summary>Check each block's XXH3 before decoding it (cheap next to zstd; on by default).</summary>
    public bool VerifyBlockChecksums { get; init; } = true;

    /// <summary>
    /// Check that no position keeps one id twice (spec 7.1, rule 8), as full verification always does. Off by default: it
    /// adds about a fifth to the decode time of packed ids with q8 values, and a store that verified clean passes it.
    /// </summary>
    public bool CheckDistinctIds { get; init; }

    /// <summary>
    /// Open a store whose shards or dictionaries are damaged: the intact ones stay readable, reads of blocks that need a
    /// damaged file fail naming it. Off by default: a training job should not start on a damaged store unknowingly.
    /// </summary>
    public bool OpenDamaged { get; init; }
}
