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

/// <summary><c>logitstore_writer_options</c>: the settings of a store a writer makes (NULL strings take the default).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct WriterOptionsAbi
{
    public const int OverwriteFlag = 1;
    public const int IdSeedFlag = 2;

    public int StructSize;
    public uint VocabSize;
    public byte* TeacherId;
    public byte* Method;
    public float Temperature;
    public float TopP;
    public int TopK;
    public int Draws;
    public ulong Seed;
    public byte* TokensCodec;
    public byte* Ids;
    public byte* Values;
    public double ValueLogRange;
    public int MvqBeam;
    public int DictionarySample;
    public int ZstdLevel;
    public int SequencesPerBlock;
    public long ShardTargetBytes;
    public int PartIndex;
    public int PartCount;
    public ulong FirstSequence;
    public int Workers;
    public int Flags;
    public ulong IdSeed;
}
