namespace LogitStore.Reading;

/// <summary>How a store is opened.</summary>
public sealed record StoreReaderOptions
{
    /// <summary>Check each block's XXH3 before decoding it (cheap next to zstd; on by default).</summary>
    public bool VerifyBlockChecksums { get; init; } = true;
}
