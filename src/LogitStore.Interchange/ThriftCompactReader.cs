using LogitStore.Format;

namespace LogitStore.Interchange;

/// <summary>A page header as <see cref="ThriftCompactReader.ReadPageHeader"/> finds it: type, sizes and value count.</summary>
internal readonly record struct PageHeader(int Type, int UncompressedSize, int CompressedSize, int Values);

/// <summary>
/// Reads Thrift's compact protocol (parquet.thrift's encoding) within [position, <c>end</c>) of a file: a page header's
/// fields, or any struct skipped whole. Every count is checked against the bytes left, so damaged bytes end in a
/// <see cref="StoreCorruptException"/>, never a loop; Parquet.Net is handed footers and pages only once they read here.
/// </summary>
internal sealed class ThriftCompactReader(Stream file, long end, string path)
{
    // Deeper nesting than parquet.thrift's own (a footer's statistics in a column chunk in a row group) is damage.
    private const int MaxNesting = 16;

    /// <summary>Skips one struct, whatever its fields.</summary>
    public void SkipStruct() => Skip(12, 0);

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

    private void Skip(int kind, int depth, bool element = false)
    {
        if (depth > MaxNesting) throw Corrupt("Thrift nested deeper than parquet.thrift nests");
        switch (kind)
        {
            case 1 or 2 when element: ReadByte(); break; // a list's booleans take a byte each
            case 1 or 2: break; // a field's boolean lives in its field header
            case 3: ReadByte(); break;
            case 4 or 5 or 6: ReadVarint(); break;
            case 7: SkipBytes(8); break;
            case 8: SkipBytes(ReadVarint()); break;
            case 9 or 10:
                int header = ReadByte();
                long count = (header >> 4) == 15 ? ReadVarint() : header >> 4;
                CheckCount(count);
                for (long i = 0; i < count; i++) Skip(header & 0x0F, depth + 1, element: true);
                break;
            case 11:
                long entries = ReadVarint();
                CheckCount(entries);
                if (entries == 0) break;
                int kinds = ReadByte();
                for (long i = 0; i < entries; i++)
                {
                    Skip(kinds >> 4, depth + 1, element: true);
                    Skip(kinds & 0x0F, depth + 1, element: true);
                }
                break;
            case 12:
                short id = 0;
                while (NextField(ref id, out int inner)) Skip(inner, depth + 1);
                break;
            default: throw Corrupt($"Thrift type {kind}, which the compact protocol does not have");
        }
    }

    /// <summary>Every element takes a byte at least, so a count past the bytes left cannot be true.</summary>
    private void CheckCount(long count)
    {
        if (count < 0 || count > end - file.Position) throw Corrupt($"a Thrift list of {count} runs past its bytes");
    }

    private int ReadI32()
    {
        long v = ZigZag(ReadVarint());
        return v is < int.MinValue or > int.MaxValue ? throw Corrupt($"a Thrift 32-bit field holds {v}") : (int)v;
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
        throw Corrupt("a Thrift varint runs past 10 bytes");
    }

    private static long ZigZag(long v) => (long)((ulong)v >> 1) ^ -(v & 1);

    private void SkipBytes(long n)
    {
        if (n < 0 || n > end - file.Position) throw Corrupt($"a Thrift field of {n} bytes runs past its bytes");
        file.Position += n;
    }

    private int ReadByte()
    {
        if (file.Position >= end) throw Corrupt("Thrift runs past its bytes");
        int b = file.ReadByte();
        return b >= 0 ? b : throw Corrupt("Thrift runs past the end of the file");
    }

    private StoreCorruptException Corrupt(string problem) => new(path, file.Position, problem);
}
