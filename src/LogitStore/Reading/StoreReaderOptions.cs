namespace LogitStore.Reading;

/// <summary>How a store is opened.</summary>
public sealed record StoreReaderOptions
{
    /// <summary>Check each block's XXH3 before decoding it (cheap next to zstd; on by default).</summary>
    public bool VerifyBlockChecksums { get; init; } = true;

    /// <summary>
    /// Open a store whose shards or dictionaries are damaged: the intact ones stay readable, reads of blocks that need a
    /// damaged file fail naming it. Off by default: a training job should not start on a damaged store unknowingly.
    /// </summary>
    public bool OpenDamaged { get; init; }
}
