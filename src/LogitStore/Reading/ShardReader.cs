using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>One shard, open for positioned reads, its header, footer and block index checked against the manifest (spec 3, 7).</summary>
internal sealed class ShardReader : IDisposable
{
    private readonly ShardFile _file;

    private ShardReader(ShardFile file, ShardHeader header, ShardFooter footer, BlockIndexEntry[] index)
    {
        _file = file;
        Header = header;
        Footer = footer;
        Index = index;
    }

    public string Path => _file.Path;
    public ShardHeader Header { get; }
    public ShardFooter Footer { get; }
    public IReadOnlyList<BlockIndexEntry> Index { get; }
    public long Length => _file.Length;

    public static ShardReader Open(string storeDirectory, ShardEntry entry, uint vocabSize)
    {
        string path = new StoreDirectory(storeDirectory).Of(entry.File);
        if (!File.Exists(path)) throw new StoreCorruptException(path, 0, "shard listed in the manifest is missing");
        var file = new ShardFile(path);
        try
        {
            long length = file.Length;
            if ((ulong)length != entry.Bytes)
                throw new StoreCorruptException(
                    path,
                    Math.Min(length, (long)entry.Bytes),
                    $"shard is {length} bytes, the manifest says {entry.Bytes} (truncated or overwritten)");
            long minimum = FormatConstants.ShardHeaderSize + FormatConstants.ShardFooterSize;
            if (length < minimum)
                throw new StoreCorruptException(path, 0, $"shard is {length} bytes, shorter than a header and a footer ({minimum})");
            Span<byte> headerBytes = stackalloc byte[FormatConstants.ShardHeaderSize];
            file.Read(0, headerBytes);
            var header = ShardHeader.Read(headerBytes, path);
            if (header.VocabSize != vocabSize)
                throw new StoreCorruptException(
                    path, ShardHeader.Offsets.VocabSize, $"vocab_size {header.VocabSize} differs from the manifest's {vocabSize}");
            if (header.FirstSequence != entry.FirstSequence)
                throw new StoreCorruptException(
                    path,
                    ShardHeader.Offsets.FirstSequence,
                    $"first_sequence {header.FirstSequence} differs from the manifest's {entry.FirstSequence}");
            if (Manifest.Hex(header.PackId) != entry.PackId)
                throw new StoreCorruptException(
                    path,
                    ShardHeader.Offsets.PackId,
                    $"pack_id {Manifest.Hex(header.PackId)} differs from the manifest's {entry.PackId}: " +
                    $"this shard belongs to another pack");

            long footerOffset = length - FormatConstants.ShardFooterSize;
            Span<byte> footerBytes = stackalloc byte[FormatConstants.ShardFooterSize];
            file.Read(footerOffset, footerBytes);
            var footer = ShardFooter.Read(footerBytes, path, footerOffset);
            long indexBytes = (long)footer.BlockCount * FormatConstants.BlockIndexEntrySize;
            if (footer.IndexOffset < FormatConstants.ShardHeaderSize || (long)footer.IndexOffset + indexBytes != footerOffset)
                throw new StoreCorruptException(
                    path,
                    footerOffset + ShardFooter.Offsets.IndexOffset,
                    $"index_offset {footer.IndexOffset} and block_count {footer.BlockCount} do not end at the footer ({footerOffset})");
            var indexSpan = new byte[indexBytes];   // within the file: it ends at the footer, checked above
            file.Read((long)footer.IndexOffset, indexSpan);
            ulong indexSum = Checksum.Of(indexSpan);
            if (indexSum != footer.IndexChecksum)
                throw new StoreCorruptException(
                    path,
                    (long)footer.IndexOffset,
                    $"block index checksum mismatch (footer says {Checksum.ToHex(footer.IndexChecksum)}, " +
                    $"computed {Checksum.ToHex(indexSum)})");
            int? differs = footer.BlockCount != entry.Blocks
                ? ShardFooter.Offsets.BlockCount
                : footer.OffsetOfCountDifferingFrom(entry.Sequences, entry.Positions, entry.Entries);
            if (differs is int field)
                throw new StoreCorruptException(path, footerOffset + field, "footer counts differ from the manifest's shard entry");

            var index = new BlockIndexEntry[footer.BlockCount];
            ulong expectOffset = FormatConstants.ShardHeaderSize, expectSeq = header.FirstSequence, seqs = 0, pos = 0, ents = 0;
            for (int b = 0; b < index.Length; b++)
            {
                long at = (long)footer.IndexOffset + b * FormatConstants.BlockIndexEntrySize;
                var e = index[b] = BlockIndexEntry.Read(indexSpan.AsSpan(b * FormatConstants.BlockIndexEntrySize));
                if (e.BlockOffset != expectOffset)
                    throw new StoreCorruptException(
                        path,
                        at + BlockIndexEntry.Offsets.BlockOffset,
                        $"block {b} starts at {e.BlockOffset}, expected {expectOffset} (blocks are contiguous)");
                if (e.BlockLength % FormatConstants.Alignment != 0
                    || e.BlockLength < FormatConstants.BlockHeaderSize + FormatConstants.BlockChecksumSize)
                    throw new StoreCorruptException(
                        path, at + BlockIndexEntry.Offsets.BlockLength, $"block {b} has an invalid length {e.BlockLength}");
                if (e.SequenceCount == 0)
                    throw new StoreCorruptException(path, at + BlockIndexEntry.Offsets.SequenceCount, $"block {b} holds no sequence");
                if (e.FirstSequence != expectSeq)
                    throw new StoreCorruptException(
                        path,
                        at + BlockIndexEntry.Offsets.FirstSequence,
                        $"block {b} covers sequences from {e.FirstSequence}, expected {expectSeq}");
                expectOffset += e.BlockLength;
                expectSeq += e.SequenceCount;
                seqs += e.SequenceCount;
                pos += e.PositionCount;
                ents += e.EntryCount;
            }
            if (expectOffset != footer.IndexOffset)
                throw new StoreCorruptException(
                    path, (long)footer.IndexOffset, $"blocks end at {expectOffset}, but the index starts at {footer.IndexOffset}");
            if (footer.OffsetOfCountDifferingFrom(seqs, pos, ents) is int sumField)
                throw new StoreCorruptException(path, footerOffset + sumField, "footer counts differ from the sum of the block index");
            return new ShardReader(file, header, footer, index);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads block <paramref name="block"/>'s encoded bytes into <paramref name="into"/> (exactly its length, from the
    /// index); a shard cut short since it was opened fails naming the file and the offset where it now ends.
    /// </summary>
    public void ReadBlock(int block, Span<byte> into)
    {
        var e = Index[block];
        if (into.Length != (int)e.BlockLength)
            throw new ArgumentException($"a buffer of {into.Length} bytes for block {block} of {e.BlockLength}", nameof(into));
        _file.Read((long)e.BlockOffset, into);
    }

    /// <summary>A copy of block <paramref name="block"/>'s encoded bytes (allocates; decoding reads into a reused buffer).</summary>
    public byte[] BlockBytes(int block)
    {
        var bytes = new byte[Index[block].BlockLength];
        ReadBlock(block, bytes);
        return bytes;
    }

    /// <summary>Any range of the file (full verification hashes it whole).</summary>
    public void Read(long offset, Span<byte> into) => _file.Read(offset, into);

    public void Dispose() => _file.Dispose();
}
