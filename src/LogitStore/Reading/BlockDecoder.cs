using System.Buffers.Binary;
using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>What a block's values column decodes into.</summary>
public enum BlockValues
{
    /// <summary>Probabilities (every value codec).</summary>
    Probabilities,

    /// <summary>An mvq column's codebook indexes, escape flags and escape q8 codes, for a decoder elsewhere (a GPU).</summary>
    MvqCodes,
}

/// <summary>Checks and decodes one block (spec section 4) into a <see cref="DecodedBlock"/>.</summary>
internal static class BlockDecoder
{
    public static void Decode(
        ReadOnlySpan<byte> block, BlockIndexEntry entry, uint vocabSize, string file, DecodedBlock dest, bool verifyChecksum = true,
        StoreDictionaries? dictionaries = null, BlockValues values = BlockValues.Probabilities, bool checkDistinctIds = false)
    {
        dest.Source = null;   // whatever the buffers held is being overwritten
        long at = (long)entry.BlockOffset;
        var header = BlockHeader.Read(block, file, at);
        if (header.BlockLength != entry.BlockLength)
            throw new StoreCorruptException(
                file,
                at + BlockHeader.Offsets.BlockLength,
                $"block_length {header.BlockLength} differs from the index ({entry.BlockLength})");
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
        if (header.OffsetOfFieldDifferingFrom(entry) is int differs)
            throw new StoreCorruptException(file, at + differs, "block header counts differ from the block index");
        int? outOfRange = header.PositionCount > int.MaxValue / 8 ? BlockHeader.Offsets.PositionCount
            : header.EntryCount > int.MaxValue / 8 ? BlockHeader.Offsets.EntryCount
            : header.SequenceCount > header.PositionCount ? BlockHeader.Offsets.SequenceCount
            : null;
        if (outOfRange is int rangeField) throw new StoreCorruptException(file, at + rangeField, "block header counts are out of range");
        int dirEnd = ColumnDescriptor.OffsetInBlock(header.ColumnCount);
        int payloadEnd = block.Length - FormatConstants.BlockChecksumSize;
        if (dirEnd > payloadEnd)
            throw new StoreCorruptException(
                file, at + BlockHeader.Offsets.ColumnCount, $"column_count {header.ColumnCount} does not fit the block");

        int s = (int)header.SequenceCount, p = (int)header.PositionCount, e = (int)header.EntryCount;
        dest.Ensure(s, p, e);
        dest.FirstSequence = header.FirstSequence;
        dest.SequenceCount = s;
        dest.PositionCount = p;
        dest.EntryCount = e;

        int next = 0, minOffset = dirEnd;   // next: the table position the next column may take
        bool idsAscending = false;
        for (int c = 0; c < header.ColumnCount; c++)
        {
            int inBlock = ColumnDescriptor.OffsetInBlock(c);
            var d = ColumnDescriptor.Read(block[inBlock..], file, at + inBlock);
            var descriptorAt = new DescriptorLocation(file, at + inBlock, d.Kind);
            if (d.Offset % FormatConstants.Alignment != 0 || d.Offset < minOffset || (long)d.Offset + d.StoredLength > payloadEnd)
                throw descriptorAt.Corrupt(
                    ColumnDescriptor.Offsets.Offset,
                    $"column payload [{d.Offset}, +{d.StoredLength}) is misaligned, overlaps or runs past the block");
            minOffset = (int)(d.Offset + d.StoredLength);
            int column = ColumnTable.IndexOf(d.Kind);
            if (column < 0)
            {
                if (d.IsOptional) continue;
                throw descriptorAt.Corrupt(ColumnDescriptor.Offsets.Kind, "a kind this reader does not know, not flagged optional");
            }
            if (column < next || ColumnTable.FirstRequired(next, column) is not null)
                throw descriptorAt.Corrupt(
                    ColumnDescriptor.Offsets.Kind,
                    $"kind {(byte)d.Kind} is out of order or repeated " +
                    $"(expected {ColumnTable.FirstRequired(next)?.Name ?? "no more required columns"})");
            next = column + 1;
            if (!CodecTable.Accepts(d.Kind, d.Codec))
                throw descriptorAt.Corrupt(
                    ColumnDescriptor.Offsets.Codec,
                    $"codec {(byte)d.Codec} ({CodecTable.Name(d.Codec)}) is not one the column accepts " +
                    $"({string.Join(", ", CodecTable.For(d.Kind))})");
            var where = new ColumnLocation(file, at + d.Offset, d.Kind);
            var bytes = Payload(block.Slice((int)d.Offset, (int)d.StoredLength), d, dest, where, descriptorAt);
            switch (d.Kind)
            {
                case ColumnKind.SequenceLengths:
                    ExpectNoCodecParam(d, descriptorAt);
                    ExpectDecodedLength(d, 4L * s, descriptorAt);
                    FixedWidthColumns.ReadU32(bytes, dest.SequenceStart.AsSpan(1, s));
                    PrefixSums(dest.SequenceStart, s, p, where, "sequence lengths", "positions", allowZero: false);
                    break;
                case ColumnKind.Tokens:
                    var tokCodec = dest.Codecs.IdCodec(d.Codec, d.CodecParam, null)
                        ?? throw descriptorAt.Corrupt(ColumnDescriptor.Offsets.CodecParam, CodecParamProblem(d, dictionaries));
                    tokCodec.Decode(bytes, default, default, dest.Tokens.AsSpan(0, p), vocabSize, where);
                    break;
                case ColumnKind.KeptCounts:
                    ExpectNoCodecParam(d, descriptorAt);
                    ExpectDecodedLength(d, 2L * p, descriptorAt);
                    FixedWidthColumns.ReadU16(bytes, dest.EntryStart.AsSpan(1, p));
                    dest.EntryStart.AsSpan(1, p).CopyTo(dest.KeptCounts);
                    PrefixSums(dest.EntryStart, p, e, where, "kept counts", "entries", allowZero: true);
                    break;
                case ColumnKind.Ids:
                    var idCodec = dest.Codecs.IdCodec(d.Codec, d.CodecParam, dictionaries)
                        ?? throw descriptorAt.Corrupt(ColumnDescriptor.Offsets.CodecParam, CodecParamProblem(d, dictionaries));
                    idCodec.Decode(bytes, dest.KeptCounts.AsSpan(0, p), dest.Tokens.AsSpan(0, p), dest.Ids.AsSpan(0, e), vocabSize, where);
                    idsAscending = idCodec.StoresAscendingIds;
                    // Ascending ids (delta) are distinct by construction; every other codec can name one id twice.
                    if (checkDistinctIds && !idsAscending) CheckDistinctIds(dest, p, vocabSize, where);
                    break;
                case ColumnKind.Values:
                    var valueCodec = dest.Codecs.ValueCodec(d.Codec, d.CodecParam, dictionaries)
                        ?? throw descriptorAt.Corrupt(ColumnDescriptor.Offsets.CodecParam, CodecParamProblem(d, dictionaries));
                    if (values == BlockValues.Probabilities)
                        valueCodec.Decode(bytes, dest.KeptCounts.AsSpan(0, p), dest.Probs.AsSpan(0, e), where);
                    else if (valueCodec is MvqValueCodec mvq) ReadMvqCodes(mvq, bytes, dest, p, e, where);
                    else throw new InvalidOperationException($"{file}: block values are {CodecTable.Name(d.Codec)}, not mvq codes");
                    break;
                case ColumnKind.ResidualMass:
                    ExpectNoCodecParam(d, descriptorAt);
                    ExpectDecodedLength(d, 2L * p, descriptorAt);
                    FixedWidthColumns.ReadUnorm16(bytes, dest.Residual.AsSpan(0, p));
                    break;
                default:
                    throw new InvalidOperationException($"the column table defines kind {d.Kind}, which this decoder cannot decode");
            }
        }
        if (ColumnTable.FirstRequired(next) is { } missing)
            throw new StoreCorruptException(file, at + BlockHeader.Offsets.ColumnCount, $"block lacks the {missing.Name} column");

        if (idsAscending && values == BlockValues.MvqCodes)
            throw new InvalidOperationException($"{file}: ids stored in ascending order are paired with values only after decoding");
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

    /// <summary>Largest vocabulary checked with a bitset (8 MiB); a larger one sorts each position's ids instead.</summary>
    private const uint BitsetVocabulary = 1u << 26;

    /// <summary>Spec 4.3: the ids of one position are distinct. Names the ids column and the position at fault.</summary>
    private static void CheckDistinctIds(DecodedBlock dest, int p, uint vocabSize, ColumnLocation where)
    {
        var counts = dest.KeptCounts.AsSpan(0, p);
        var starts = dest.EntryStart;
        var ids = dest.Ids;
        if (vocabSize > BitsetVocabulary)
        {
            for (int i = 0; i < counts.Length; i++)
            {
                if (counts[i] < 2) continue;
                int[] copy = ids.AsSpan(starts[i], counts[i]).ToArray();
                Array.Sort(copy);
                for (int j = 1; j < copy.Length; j++)
                    if (copy[j] == copy[j - 1]) throw where.Corrupt($"position {i} keeps id {copy[j]} twice");
            }
            return;
        }
        int words = (int)((vocabSize + 63) / 64);
        if (dest.IdSeen.Length < words) dest.IdSeen = new ulong[words];
        var seen = dest.IdSeen;
        for (int i = 0; i < counts.Length; i++)
        {
            int n = counts[i];
            if (n < 2) continue;
            var position = ids.AsSpan(starts[i], n);
            int j = 0;
            for (; j < position.Length; j++)
            {
                uint id = (uint)position[j];
                ulong bit = 1UL << (int)(id & 63);
                if ((seen[id >> 6] & bit) != 0) break;
                seen[id >> 6] |= bit;
            }
            for (int k = 0; k < j; k++) seen[(uint)position[k] >> 6] = 0;   // clear what this position set
            if (j < position.Length) throw where.Corrupt($"position {i} keeps id {position[j]} twice");
        }
    }

    private static void ReadMvqCodes(MvqValueCodec mvq, ReadOnlySpan<byte> bytes, DecodedBlock dest, int p, int e, ColumnLocation where)
    {
        int m = mvq.Codebooks.M;
        if (dest.MvqCodes.Length < p * m) dest.MvqCodes = new byte[p * m];
        if (dest.MvqEscaped.Length < p) dest.MvqEscaped = new byte[p];
        if (dest.EscapeCodes.Length < e) dest.EscapeCodes = new byte[e];
        mvq.ReadCodes(bytes, dest.KeptCounts.AsSpan(0, p), dest.MvqCodes, dest.MvqEscaped, dest.EscapeCodes, where);
        dest.MvqCodebooks = mvq.Codebooks;
    }

    /// <summary>Where a column directory entry sits in the file, for errors that name one of its fields.</summary>
    private readonly record struct DescriptorLocation(string File, long EntryOffset, ColumnKind Kind)
    {
        public StoreCorruptException Corrupt(int field, string problem) =>
            new(File, EntryOffset + field, $"{ColumnTable.NameOf(Kind)} column: {problem}");
    }

    /// <summary>Why a codec the column accepts gave no decoder: its <c>codec_param</c>, or the dictionary that names.</summary>
    private static string CodecParamProblem(ColumnDescriptor d, StoreDictionaries? dictionaries) =>
        CodecTable.Of(d.Codec).Parameter switch
        {
            { Dictionary: not null } when dictionaries?.Damaged(d.CodecParam) is { } file =>
                $"the dictionary with ref {DictionaryFile.RefHex(d.CodecParam)} it needs is damaged ({file})",
            { DictionaryName: { } name } =>
                $"the manifest lists no {name} with ref {DictionaryFile.RefHex(d.CodecParam)}: the block decodes with that one only",
            var parameter => $"codec {CodecTable.Name(d.Codec)} does not accept codec_param {d.CodecParam} " +
                $"({parameter.Meaning}: {parameter.Min}..{parameter.Max})",
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

    /// <summary>The fixed-width codecs (u32, u16, unorm16) take no parameter: <c>codec_param</c> must be 0 (spec 5).</summary>
    private static void ExpectNoCodecParam(ColumnDescriptor d, DescriptorLocation descriptorAt)
    {
        if (d.CodecParam != 0)
            throw descriptorAt.Corrupt(
                ColumnDescriptor.Offsets.CodecParam, $"codec {CodecTable.Name(d.Codec)} takes no codec_param, found {d.CodecParam}");
    }

    private static void ExpectDecodedLength(ColumnDescriptor d, long decodedLength, DescriptorLocation descriptorAt)
    {
        if (d.DecodedLength != decodedLength)
            throw descriptorAt.Corrupt(
                ColumnDescriptor.Offsets.DecodedLength,
                $"decoded_length {d.DecodedLength}, expected {decodedLength}");
    }

    /// <summary>The column's codec bytes: the stored bytes themselves, or zstd-decompressed into the block's scratch.</summary>
    private static ReadOnlySpan<byte> Payload(
        ReadOnlySpan<byte> stored, ColumnDescriptor d, DecodedBlock dest, ColumnLocation where, DescriptorLocation descriptorAt)
    {
        switch (d.Compression)
        {
            case CompressionId.None:
                if (d.StoredLength != d.DecodedLength)
                    throw descriptorAt.Corrupt(
                        ColumnDescriptor.Offsets.DecodedLength,
                        $"uncompressed column has stored_length {d.StoredLength} but decoded_length {d.DecodedLength}");
                return stored;
            case CompressionId.Zstd:
                if (d.DecodedLength > 1 << 30)
                    throw descriptorAt.Corrupt(ColumnDescriptor.Offsets.DecodedLength, $"decoded_length {d.DecodedLength} is implausible");
                var target = dest.ScratchOf((int)d.DecodedLength).AsSpan(0, (int)d.DecodedLength);
                int n;
                try { n = dest.Decompressor.Unwrap(stored, target); }
                catch (Exception ex) when (ex is ZstdSharp.ZstdException or ArgumentException or InvalidOperationException)
                { throw where.Corrupt($"zstd frame does not decompress: {ex.Message}"); }
                if (n != d.DecodedLength)
                    throw where.Corrupt($"zstd frame decompresses to {n} bytes, decoded_length says {d.DecodedLength}");
                return target;
            default:
                throw descriptorAt.Corrupt(
                    ColumnDescriptor.Offsets.Compression,
                    $"unknown compression id {(byte)d.Compression}");
        }
    }
}
