using System.Buffers.Binary;
using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>Checks and decodes one block (spec section 4) into a <see cref="DecodedBlock"/>.</summary>
public static class BlockDecoder
{
    private static readonly ColumnKind[] Required =
        [ColumnKind.SequenceLengths, ColumnKind.Tokens, ColumnKind.KeptCounts, ColumnKind.Ids, ColumnKind.Values, ColumnKind.ResidualMass];

    public static void Decode(
        ReadOnlySpan<byte> block, BlockIndexEntry entry, uint vocabSize, string file, DecodedBlock dest, bool verifyChecksum = true,
        StoreDictionaries? dictionaries = null)
    {
        dest.Source = null;   // whatever the buffers held is being overwritten
        long at = (long)entry.BlockOffset;
        var header = BlockHeader.Read(block, file, at);
        if (header.BlockLength != entry.BlockLength)
            throw new StoreCorruptException(
                file, at + 4, $"block_length {header.BlockLength} differs from the index ({entry.BlockLength})");
        if (verifyChecksum)
        {
            int body = block.Length - FormatConstants.BlockChecksumSize;
            ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(block[body..]);
            ulong actual = Checksum.Of(block[..body]);
            if (stored != actual)
                throw new StoreCorruptException(
                    file,
                    at,
                    $"block checksum mismatch (stored {Checksum.ToHex(stored)}, computed {Checksum.ToHex(actual)}; " +
                    $"checksum at offset {at + body})");
        }
        if (header.FirstSequence != entry.FirstSequence || header.SequenceCount != entry.SequenceCount
            || header.PositionCount != entry.PositionCount || header.EntryCount != entry.EntryCount)
            throw new StoreCorruptException(file, at + 8, "block header counts differ from the block index");
        if (header.PositionCount > int.MaxValue / 8 || header.EntryCount > int.MaxValue / 8 || header.SequenceCount > header.PositionCount)
            throw new StoreCorruptException(file, at + 16, "block header counts are out of range");
        int dirEnd = FormatConstants.BlockHeaderSize + header.ColumnCount * FormatConstants.ColumnDescriptorSize;
        int payloadEnd = block.Length - FormatConstants.BlockChecksumSize;
        if (dirEnd > payloadEnd)
            throw new StoreCorruptException(file, at + 28, $"column_count {header.ColumnCount} does not fit the block");

        int s = (int)header.SequenceCount, p = (int)header.PositionCount, e = (int)header.EntryCount;
        dest.Ensure(s, p, e);
        dest.FirstSequence = header.FirstSequence;
        dest.SequenceCount = s;
        dest.PositionCount = p;
        dest.EntryCount = e;

        int next = 0, minOffset = dirEnd;
        bool idsAscending = false;
        for (int c = 0; c < header.ColumnCount; c++)
        {
            long descAt = at + FormatConstants.BlockHeaderSize + c * FormatConstants.ColumnDescriptorSize;
            var d = ColumnDescriptor.Read(block[(int)(descAt - at)..], file, descAt);
            if (d.Offset % FormatConstants.Alignment != 0 || d.Offset < minOffset || (long)d.Offset + d.StoredLength > payloadEnd)
                throw new StoreCorruptException(
                    file, descAt + 4, $"column payload [{d.Offset}, +{d.StoredLength}) is misaligned, overlaps or runs past the block");
            minOffset = (int)(d.Offset + d.StoredLength);
            if (next >= Required.Length || d.Kind != Required[next])
            {
                if (d.IsOptional && Array.IndexOf(Required, d.Kind) < 0) continue;
                throw new StoreCorruptException(
                    file,
                    descAt,
                    $"unexpected column kind {(byte)d.Kind} " +
                    $"(expected {(next < Required.Length ? Required[next].ToString() : "no more required columns")})");
            }
            next++;
            var where = new ColumnLocation(file, at + d.Offset, d.Kind);
            var bytes = Payload(block.Slice((int)d.Offset, (int)d.StoredLength), d, dest, where);
            switch (d.Kind)
            {
                case ColumnKind.SequenceLengths:
                    Expect(d, CodecId.U32, 4L * s, where);
                    FixedWidthColumns.ReadU32(bytes, dest.SequenceStart.AsSpan(1, s));
                    PrefixSums(dest.SequenceStart, s, p, where, "sequence lengths", "positions", allowZero: false);
                    break;
                case ColumnKind.Tokens:
                    var tokCodec = dest.Codecs.IdCodec(d.Codec, d.CodecParam, null);
                    if (tokCodec is null || tokCodec.StoresAscendingIds)
                        throw where.Corrupt($"codec {(byte)d.Codec} with parameter {d.CodecParam} is not a tokens codec");
                    tokCodec.Decode(bytes, default, dest.Tokens.AsSpan(0, p), vocabSize, where);
                    break;
                case ColumnKind.KeptCounts:
                    Expect(d, CodecId.U16, 2L * p, where);
                    FixedWidthColumns.ReadU16(bytes, dest.EntryStart.AsSpan(1, p));
                    dest.EntryStart.AsSpan(1, p).CopyTo(dest.KeptCounts);
                    PrefixSums(dest.EntryStart, p, e, where, "kept counts", "entries", allowZero: true);
                    break;
                case ColumnKind.Ids:
                    var idCodec = dest.Codecs.IdCodec(d.Codec, d.CodecParam, dictionaries) ?? throw where.Corrupt(UnknownCodec(d, "ids"));
                    idCodec.Decode(bytes, dest.KeptCounts.AsSpan(0, p), dest.Ids.AsSpan(0, e), vocabSize, where);
                    idsAscending = idCodec.StoresAscendingIds;
                    break;
                case ColumnKind.Values:
                    var valueCodec = dest.Codecs.ValueCodec(d.Codec, d.CodecParam, dictionaries)
                        ?? throw where.Corrupt(UnknownCodec(d, "values"));
                    valueCodec.Decode(bytes, dest.KeptCounts.AsSpan(0, p), dest.Probs.AsSpan(0, e), where);
                    break;
                case ColumnKind.ResidualMass:
                    Expect(d, CodecId.Unorm16, 2L * p, where);
                    FixedWidthColumns.ReadUnorm16(bytes, dest.Residual.AsSpan(0, p));
                    break;
            }
        }
        if (next != Required.Length) throw new StoreCorruptException(file, at + 28, $"block lacks the {Required[next]} column");

        if (idsAscending)
        {
            var ids = dest.Ids.AsSpan(0, e);
            var probs = dest.Probs.AsSpan(0, e);
            for (int i = 0; i < p; i++)
            {
                int n = dest.KeptCounts[i];
                if (n > 1) EntryOrder.SortByRank(ids.Slice(dest.EntryStart[i], n), probs.Slice(dest.EntryStart[i], n));
            }
        }
    }

    private static string UnknownCodec(ColumnDescriptor d, string column) => d.Codec switch
    {
        CodecId.Mvq => $"the manifest lists no mvq codebooks with ref {Format.DictionaryFile.RefHex(d.CodecParam)}: " +
            $"this block cannot be decoded with any other codebook",
        CodecId.Ranked => $"the manifest lists no id rank table with ref {Format.DictionaryFile.RefHex(d.CodecParam)}",
        _ => $"unknown {column} codec {(byte)d.Codec} with parameter {d.CodecParam}",
    };

    /// <summary>Turns counts stored at [1..n] into start offsets at [0..n]; checks they sum to <paramref name="total"/>.</summary>
    private static void PrefixSums(int[] a, int n, int total, ColumnLocation where, string what, string unit, bool allowZero)
    {
        long sum = 0;
        a[0] = 0;
        for (int i = 1; i <= n; i++)
        {
            int v = a[i];
            if (v < 0 || (!allowZero && v == 0)) throw where.Corrupt($"element {i - 1} of the {what} is {v}");
            sum += v;
            if (sum > total) throw where.Corrupt($"{what} add up to more than the header's {total} {unit}");
            a[i] = (int)sum;
        }
        if (sum != total) throw where.Corrupt($"{what} add up to {sum}, the header says {total} {unit}");
    }

    private static void Expect(ColumnDescriptor d, CodecId codec, long decodedLength, ColumnLocation where)
    {
        if (d.Codec != codec) throw where.Corrupt($"codec {(byte)d.Codec}, expected {(byte)codec} ({CodecRegistry.Name(codec)})");
        if (d.DecodedLength != decodedLength) throw where.Corrupt($"decoded_length {d.DecodedLength}, expected {decodedLength}");
    }

    /// <summary>The column's codec bytes: the stored bytes themselves, or zstd-decompressed into the block's scratch.</summary>
    private static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> stored, ColumnDescriptor d, DecodedBlock dest, ColumnLocation where)
    {
        switch (d.Compression)
        {
            case CompressionId.None:
                if (d.StoredLength != d.DecodedLength)
                    throw where.Corrupt($"uncompressed column has stored_length {d.StoredLength} but decoded_length {d.DecodedLength}");
                return stored;
            case CompressionId.Zstd:
                if (d.DecodedLength > 1 << 30) throw where.Corrupt($"decoded_length {d.DecodedLength} is implausible");
                var target = dest.ScratchOf((int)d.DecodedLength).AsSpan(0, (int)d.DecodedLength);
                int n;
                try { n = dest.Decompressor.Unwrap(stored, target); }
                catch (Exception ex) when (ex is ZstdSharp.ZstdException or ArgumentException or InvalidOperationException)
                { throw where.Corrupt($"zstd frame does not decompress: {ex.Message}"); }
                if (n != d.DecodedLength)
                    throw where.Corrupt($"zstd frame decompresses to {n} bytes, decoded_length says {d.DecodedLength}");
                return target;
            default:
                throw where.Corrupt($"unknown compression id {(byte)d.Compression}");
        }
    }
}
