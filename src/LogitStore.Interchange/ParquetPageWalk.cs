using LogitStore.Format;

namespace LogitStore.Interchange;

/// <summary>What a column chunk's footer entry says about it: where its pages lie and how many values they hold.</summary>
internal readonly record struct ColumnChunkExtent(long Start, long CompressedBytes, long UncompressedBytes, long Values, int ValueBytes);

/// <summary>
/// Walks the page headers of one column chunk (Parquet's Thrift compact <c>PageHeader</c>) before Parquet.Net reads it:
/// Parquet.Net sizes its buffers by what a page header declares (values, page sizes), so each declaration is checked
/// against the chunk's footer entry, which is itself checked against the file's length, before any buffer exists.
/// </summary>
internal static class ParquetPageWalk
{
    // PageHeader.type (parquet.thrift): the pages that carry a chunk's values, and its dictionary.
    private const int DataPage = 0;
    private const int DictionaryPage = 2;
    private const int DataPageV2 = 3;

    /// <summary>Throws <see cref="StoreCorruptException"/> unless the chunk's pages lie inside it and hold its values.</summary>
    public static void Check(Stream file, string path, string column, ColumnChunkExtent chunk)
    {
        long end = chunk.Start + chunk.CompressedBytes, values = 0, at = chunk.Start;
        while (values < chunk.Values)
        {
            if (at >= end)
                throw new StoreCorruptException(
                    path, at, $"{column}: the chunk ends after {values} of the {chunk.Values} values its footer entry declares");
            file.Position = at;
            var reader = new ThriftCompactReader(file, end, path);
            var page = reader.ReadPageHeader();
            long data = file.Position;
            if (page.CompressedSize < 0 || page.UncompressedSize < 0 || page.CompressedSize > end - data)
                throw new StoreCorruptException(
                    path, at, $"{column}: a page of {page.CompressedSize} bytes ({page.UncompressedSize} uncompressed) does not " +
                    $"fit the {end - data} bytes left in its chunk");
            if (page.UncompressedSize > chunk.UncompressedBytes)
                throw new StoreCorruptException(
                    path, at, $"{column}: a page of {page.UncompressedSize} uncompressed bytes in a chunk of {chunk.UncompressedBytes}");
            if (page.Type is DataPage or DataPageV2)
            {
                if (page.Values < 0 || page.Values > chunk.Values - values)
                    throw new StoreCorruptException(
                        path, at, $"{column}: a page declares {page.Values} values, the chunk has {chunk.Values - values} left");
                values += page.Values;
            }
            else if (page.Type == DictionaryPage && (page.Values < 0 || (long)page.Values * chunk.ValueBytes > page.UncompressedSize))
                // A dictionary is stored plain: each entry takes its type's full width.
                throw new StoreCorruptException(
                    path, at, $"{column}: a dictionary of {page.Values} entries in a page of {page.UncompressedSize} bytes");
            at = data + page.CompressedSize;
        }
    }
}
