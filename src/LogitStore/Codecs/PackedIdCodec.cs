using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 1: ids bit-packed at the vocabulary's width (spec 5.1).</summary>
internal sealed class PackedIdCodec : IIdCodec
{
    private readonly int _width;

    public PackedIdCodec(int width)
    {
        if (width is < 1 or > 32) throw new ArgumentOutOfRangeException(nameof(width), width, "bit width must be 1..32");
        _width = width;
    }

    public static PackedIdCodec ForVocabulary(uint vocabSize) => new(BitPacking.WidthFor(vocabSize));

    public CodecId Id => CodecId.Packed;
    public uint Param => (uint)_width;
    public bool StoresAscendingIds => false;

    public int MaxEncodedLength(int count) => BitPacking.PackedLength(count, _width);

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest) =>
        BitPacking.Pack(ids, _width, dest);

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where)
    {
        int expected = BitPacking.PackedLength(dest.Length, _width);
        if (src.Length != expected)
            throw where.Corrupt($"{src.Length} bytes for {dest.Length} values of {_width} bits (expected {expected})");
        if (!BitPacking.Unpack(src, _width, dest, vocabSize, out int bad))
            throw where.Corrupt($"id at element {bad} is not below the vocabulary size {vocabSize}");
        if (!BitPacking.TailIsZero(src, dest.Length, _width)) throw where.Corrupt("unused bits of the last byte are not zero");
    }
}
