using System.Runtime.InteropServices;

namespace LogitStore.Native;

/// <summary>The C ABI's version and its structs, laid out as include/logitstore.h declares them.</summary>
internal static class NativeAbi
{
    /// <summary>Bumped on any change to an export's signature or a struct's layout.</summary>
    public const int Version = 2;
}

/// <summary><c>logitstore_loader_options</c>: how a loader cuts, orders and splits batches (its plan and width).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LoaderOptionsAbi
{
    public int StructSize;
    public int BatchSize;
    public int SequenceLength;
    public int Width;
    public int Shuffle;
    public int SkipDamagedBlocks;
    public ulong Seed;
    public int Rank;
    public int WorldSize;
}

/// <summary><c>logitstore_batch_buffers</c>: caller-owned memory for one [B, T, K] batch.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BatchBuffersAbi
{
    public int* Tokens;
    public int* KeptCounts;
    public float* Residual;
    public int* Ids;
    public float* Probs;
    public ulong* RowSequence;
    public int* RowOffset;
}
