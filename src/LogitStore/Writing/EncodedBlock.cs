namespace LogitStore.Writing;

/// <summary>A block's bytes, ready to append to a shard, with the counts its index entry needs.</summary>
public sealed record EncodedBlock(byte[] Bytes, ulong FirstSequence, int SequenceCount, int PositionCount, int EntryCount);
