using System.Buffers.Binary;
using System.Runtime.InteropServices;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 0: one little-endian u32 per id (the plain layout).</summary>
internal sealed class U32IdCodec : IIdCodec
{
    public static readonly U32IdCodec Instance = new();

    public CodecId Id => CodecId.U32;
    public uint Param => 0;
    public bool StoresAscendingIds => false;

    public int MaxEncodedLength(int count) => 4 * count;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(ids).CopyTo(dest);
        else for (int i = 0; i < ids.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(dest[(4 * i)..], ids[i]);
        return 4 * ids.Length;
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where)
    {
        if (src.Length != 4 * dest.Length) throw where.Corrupt($"{src.Length} bytes for {dest.Length} u32 values");
        for (int i = 0; i < dest.Length; i++)
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]);
            if (v >= vocabSize) throw where.Corrupt($"id {v} at element {i} is not below the vocabulary size {vocabSize}");
            dest[i] = (int)v;
        }
    }
}
