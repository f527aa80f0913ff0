namespace LogitStore.Writing;

/// <summary>A block's bytes, ready to append to a shard, with the counts its index entry needs.</summary>
internal sealed record EncodedBlock(byte[] Bytes, ulong FirstSequence, int SequenceCount, int PositionCount, int EntryCount)
{
    /// <summary>The block's share of the fingerprint's <c>corpus</c> (spec 2.9).</summary>
    public ulong CorpusTerm { get; init; }
}
