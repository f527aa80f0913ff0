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

    // Deeper nesting than the page header's own (struct in struct in list) is no page header.
    private const int MaxNesting = 8;

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
            var reader = new CompactReader(file, end, path);
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

    private readonly record struct PageHeader(int Type, int UncompressedSize, int CompressedSize, int Values);

    /// <summary>The subset of Thrift's compact protocol a page header uses; every read stays inside the chunk.</summary>
    private sealed class CompactReader(Stream file, long end, string path)
    {
        public PageHeader ReadPageHeader()
        {
            int type = -1, uncompressed = -1, compressed = -1, values = 0;
            short id = 0;
            while (NextField(ref id, out int kind))
                switch (id)
                {
                    case 1 when kind == 5: type = ReadI32(); break;
                    case 2 when kind == 5: uncompressed = ReadI32(); break;
                    case 3 when kind == 5: compressed = ReadI32(); break;
                    case 5 or 7 or 8 when kind == 12: values = ReadNumValues(); break;
                    default: Skip(kind, 0); break;
                }
            if (type < 0 || uncompressed < 0 || compressed < 0)
                throw Corrupt("a page header lacks its type or sizes");
            return new PageHeader(type, uncompressed, compressed, values);
        }

        /// <summary>Field 1 (num_values) of a data, dictionary or v2 data page header; the rest is skipped.</summary>
        private int ReadNumValues()
        {
            int values = -1;
            short id = 0;
            while (NextField(ref id, out int kind))
                if (id == 1 && kind == 5) values = ReadI32();
                else Skip(kind, 1);
            return values;
        }

        private bool NextField(ref short id, out int kind)
        {
            int b = ReadByte();
            kind = b & 0x0F;
            if (b == 0) return false;
            id = (b >> 4) != 0 ? (short)(id + (b >> 4)) : (short)ZigZag(ReadVarint());
            return true;
        }

        private void Skip(int kind, int depth)
        {
            if (depth > MaxNesting) throw Corrupt("a page header nested deeper than any page header is");
            switch (kind)
            {
                case 1 or 2: break; // booleans live in the field header
                case 3: ReadByte(); break;
                case 4 or 5 or 6: ReadVarint(); break;
                case 7: SkipBytes(8); break;
                case 8: SkipBytes(ReadVarint()); break;
                case 9 or 10:
                    int header = ReadByte();
                    long count = (header >> 4) == 15 ? ReadVarint() : header >> 4;
                    for (long i = 0; i < count; i++) Skip(header & 0x0F, depth + 1);
                    break;
                case 11:
                    long entries = ReadVarint();
                    if (entries == 0) break;
                    int kinds = ReadByte();
                    for (long i = 0; i < entries; i++)
                    {
                        Skip(kinds >> 4, depth + 1);
                        Skip(kinds & 0x0F, depth + 1);
                    }
                    break;
                case 12:
                    short id = 0;
                    while (NextField(ref id, out int inner)) Skip(inner, depth + 1);
                    break;
                default: throw Corrupt($"a page header holds Thrift type {kind}, which the compact protocol does not have");
            }
        }

        private int ReadI32()
        {
            long v = ZigZag(ReadVarint());
            return v is < int.MinValue or > int.MaxValue ? throw Corrupt($"a page header's 32-bit field holds {v}") : (int)v;
        }

        private long ReadVarint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = ReadByte();
                v |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return (long)v;
            }
            throw Corrupt("a page header's varint runs past 10 bytes");
        }

        private static long ZigZag(long v) => (long)((ulong)v >> 1) ^ -(v & 1);

        private void SkipBytes(long n)
        {
            if (n < 0 || n > end - file.Position) throw Corrupt($"a page header field of {n} bytes runs past its chunk");
            file.Position += n;
        }

        private int ReadByte()
        {
            if (file.Position >= end) throw Corrupt("a page header runs past its chunk");
            int b = file.ReadByte();
            return b >= 0 ? b : throw Corrupt("a page header runs past the end of the file");
        }

        private StoreCorruptException Corrupt(string problem) => new(path, file.Position, problem);
    }
}
