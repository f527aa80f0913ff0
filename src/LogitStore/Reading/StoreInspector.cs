using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>Bytes of one column kind summed over a store.</summary>
public sealed record ColumnUsage(ColumnKind Kind, string Codecs, long StoredBytes, long DecodedBytes, double BytesPerToken);

/// <summary>What <c>logitstore inspect</c> shows: sizes (shards and dictionaries), codecs and where the bytes go.</summary>
public sealed record StoreSummary(
    Manifest Manifest, long FileBytes, double BytesPerToken, double MeanKept, IReadOnlyList<ColumnUsage> Columns, long OverheadBytes,
    long DictionaryBytes)
{
    /// <summary>Bytes per token of one column kind (0 if absent).</summary>
    public double ColumnBytesPerToken(ColumnKind kind) => Columns.FirstOrDefault(c => c.Kind == kind)?.BytesPerToken ?? 0;
}

/// <summary>Reads only block headers and column directories (no decompression) to account for every byte.</summary>
public static class StoreInspector
{
    public static StoreSummary Inspect(string directory)
    {
        using var reader = StoreReader.Open(directory);
        var m = reader.Manifest;
        var stored = new Dictionary<ColumnKind, long>();
        var decodedBytes = new Dictionary<ColumnKind, long>();
        var codecs = new Dictionary<ColumnKind, SortedSet<string>>();
        long payload = 0;
        for (int b = 0; b < reader.BlockCount; b++)
        {
            var shard = reader.ShardOfBlock(b);
            var entry = reader.BlockEntry(b);
            ReadOnlySpan<byte> bytes = reader.BlockBytes(b);
            var header = BlockHeader.Read(bytes, shard.Path, (long)entry.BlockOffset);
            for (int c = 0; c < header.ColumnCount; c++)
            {
                int inBlock = ColumnDescriptor.OffsetInBlock(c);
                var d = ColumnDescriptor.Read(bytes[inBlock..], shard.Path, (long)entry.BlockOffset + inBlock);
                stored[d.Kind] = stored.GetValueOrDefault(d.Kind) + d.StoredLength;
                decodedBytes[d.Kind] = decodedBytes.GetValueOrDefault(d.Kind) + d.DecodedLength;
                string name = Codecs.CodecTable.Name(d.Codec) + (d.Compression == CompressionId.Zstd ? "+zstd" : "");
                (codecs.TryGetValue(d.Kind, out var set) ? set : codecs[d.Kind] = new SortedSet<string>()).Add(name);
                payload += d.StoredLength;
            }
        }
        long dictionaryBytes = m.Dictionaries.Sum(d => (long)d.Bytes);
        long fileBytes = reader.Shards.Sum(s => s.Length) + dictionaryBytes;
        double tokens = Math.Max(1, (double)m.Totals.Positions);
        var columns = stored.Keys.Order()
            .Select(k => new ColumnUsage(k, string.Join(",", codecs[k]), stored[k], decodedBytes[k], stored[k] / tokens))
            .ToList();
        return new StoreSummary(
            m, fileBytes, fileBytes / tokens, m.Totals.Entries / tokens, columns, fileBytes - payload - dictionaryBytes, dictionaryBytes);
    }
}
