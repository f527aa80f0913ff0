using LogitStore.Codecs;
using LogitStore.Format;
using ZstdSharp;

namespace LogitStore.Writing;

/// <summary>
/// Turns whole sequences into one block (spec section 4): columns → codec → zstd → directory → checksum.
/// Thread-safe: scratch buffers are per thread.
/// </summary>
internal static class BlockEncoder
{
    [ThreadStatic] private static Scratch? t_scratch;

    public static EncodedBlock Encode(IReadOnlyList<SparseSequence> sequences, ulong firstSequence, BlockCodecs codecs, uint vocabSize)
    {
        if (sequences.Count == 0) throw new ArgumentException("a block holds at least one sequence");
        var s = t_scratch ??= new Scratch();
        long p = 0, e = 0;
        foreach (var seq in sequences)
        {
            if (seq.Length == 0)
                throw new ArgumentException($"sequence {firstSequence} + {p} is empty: sequences need at least one position");
            p += seq.Length;
            e += seq.EntryCount;
        }
        if (p > int.MaxValue / 8 || e > int.MaxValue / 8) throw new ArgumentException("block too large: use fewer sequences per block");
        int positions = (int)p, entries = (int)e;
        s.Ensure(sequences.Count, positions, entries);

        Flatten(sequences, s, vocabSize, codecs.Ids.StoresAscendingIds, firstSequence);

        // Encode each column of the table, then compress it; keep it raw where zstd does not shrink it.
        var columns = ColumnTable.Written;
        var compressor = s.Compressor(codecs.ZstdLevel);
        var stored = new (byte[] Buf, int Len)[columns.Length];
        var descriptors = new ColumnDescriptor[columns.Length];
        int offset = FormatConstants.AlignUp(ColumnDescriptor.OffsetInBlock(columns.Length));
        for (int c = 0; c < columns.Length; c++)
        {
            var (codec, param, rawBuffer, rawLength) = EncodeColumn(columns[c].Kind, c, s, codecs, sequences.Count, positions, entries);
            if (!CodecTable.Accepts(columns[c].Kind, codec))
                throw new ArgumentException($"codec {CodecTable.Name(codec)} is not one the {columns[c].Name} column accepts");
            var raw = rawBuffer.AsSpan(0, rawLength);
            var zbuf = s.Compressed(c, Compressor.GetCompressBound(raw.Length));
            int zlen = codecs.ZstdLevel == 0 ? int.MaxValue : compressor.Wrap(raw, zbuf);
            var compression = zlen < raw.Length ? CompressionId.Zstd : CompressionId.None;
            stored[c] = compression == CompressionId.Zstd ? (zbuf, zlen) : (rawBuffer, raw.Length);
            descriptors[c] = new ColumnDescriptor(
                columns[c].Kind, codec, compression, 0, (uint)offset, (uint)stored[c].Len, (uint)raw.Length, param);
            offset = FormatConstants.AlignUp(offset + stored[c].Len);
        }
        int blockLength = offset + FormatConstants.BlockChecksumSize;
        var bytes = new byte[blockLength];
        new BlockHeader((uint)blockLength, firstSequence, (uint)sequences.Count, (uint)positions, (uint)entries, (ushort)columns.Length)
            .Write(bytes);
        for (int c = 0; c < columns.Length; c++)
        {
            descriptors[c].Write(bytes.AsSpan(ColumnDescriptor.OffsetInBlock(c)));
            stored[c].Buf.AsSpan(0, stored[c].Len).CopyTo(bytes.AsSpan((int)descriptors[c].Offset));
        }
        ulong sum = Checksum.Of(bytes.AsSpan(0, blockLength - FormatConstants.BlockChecksumSize));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(blockLength - FormatConstants.BlockChecksumSize), sum);
        return new EncodedBlock(bytes, firstSequence, sequences.Count, positions, entries);
    }

    /// <summary>
    /// Encodes the column <paramref name="kind"/> of the block flattened in <paramref name="s"/> into its scratch buffer
    /// <paramref name="column"/>; returns the codec, its parameter, the buffer and the encoded length.
    /// </summary>
    private static (CodecId Codec, uint Param, byte[] Raw, int Length) EncodeColumn(
        ColumnKind kind, int column, Scratch s, BlockCodecs codecs, int sequences, int positions, int entries)
    {
        var counts = s.Counts.AsSpan(0, positions);
        byte[] raw;
        switch (kind)
        {
            case ColumnKind.SequenceLengths:
                raw = s.Col(column, 4 * sequences);
                return (CodecId.U32, 0, raw, FixedWidthColumns.WriteU32(s.Lengths.AsSpan(0, sequences), raw));
            case ColumnKind.Tokens:
                raw = s.Col(column, codecs.Tokens.MaxEncodedLength(positions));
                return (
                    codecs.Tokens.Id, codecs.Tokens.Param, raw, codecs.Tokens.Encode(s.Tokens.AsSpan(0, positions), counts, default, raw));
            case ColumnKind.KeptCounts:
                raw = s.Col(column, 2 * positions);
                return (CodecId.U16, 0, raw, FixedWidthColumns.WriteU16(counts, raw));
            case ColumnKind.Ids:
                raw = s.Col(column, codecs.Ids.MaxEncodedLength(entries));
                return (
                    codecs.Ids.Id, codecs.Ids.Param, raw,
                    codecs.Ids.Encode(s.Ids.AsSpan(0, entries), counts, s.Tokens.AsSpan(0, positions), raw));
            case ColumnKind.Values:
                raw = s.Col(column, codecs.Values.MaxEncodedLength(entries));
                return (codecs.Values.Id, codecs.Values.Param, raw, codecs.Values.Encode(s.Probs.AsSpan(0, entries), counts, raw));
            case ColumnKind.ResidualMass:
                raw = s.Col(column, 2 * positions);
                return (CodecId.Unorm16, 0, raw, FixedWidthColumns.WriteUnorm16(s.Residual.AsSpan(0, positions), raw));
            default:
                throw new InvalidOperationException($"the column table defines kind {kind}, which this encoder cannot encode");
        }
    }

    private static void Flatten(IReadOnlyList<SparseSequence> sequences, Scratch s, uint vocab, bool idOrder, ulong firstSequence)
    {
        int pos = 0, ent = 0;
        for (int q = 0; q < sequences.Count; q++)
        {
            var seq = sequences[q];
            s.Lengths[q] = seq.Length;
            seq.Tokens.CopyTo(s.Tokens, pos);
            seq.KeptCounts.CopyTo(s.Counts, pos);
            seq.Residual.CopyTo(s.Residual, pos);
            seq.Ids.CopyTo(s.Ids, ent);
            seq.Probs.CopyTo(s.Probs, ent);
            int se = 0;
            for (int t = 0; t < seq.Length; t++)
            {
                int n = seq.KeptCounts[t];
                CheckPosition(seq, firstSequence + (ulong)q, t, vocab, se);
                var ids = s.Ids.AsSpan(ent + se, n);
                var probs = s.Probs.AsSpan(ent + se, n);
                if (!EntryOrder.IsRankOrdered(ids, probs)) EntryOrder.SortByRank(ids, probs);
                if (idOrder) EntryOrder.SortById(ids, probs);
                se += n;
            }
            pos += seq.Length;
            ent += seq.EntryCount;
        }
    }

    /// <summary>
    /// Checks every position of <paramref name="sequences"/> as encoding would, without encoding (writers that hold blocks back).
    /// </summary>
    public static void Validate(IReadOnlyList<SparseSequence> sequences, ulong firstSequence, uint vocab)
    {
        for (int q = 0; q < sequences.Count; q++)
        {
            var seq = sequences[q];
            if (seq.Length == 0)
                throw new ArgumentException($"sequence {firstSequence + (ulong)q} is empty: sequences need at least one position");
            int se = 0;
            for (int t = 0; t < seq.Length; t++)
            {
                CheckPosition(seq, firstSequence + (ulong)q, t, vocab, se);
                se += seq.KeptCounts[t];
            }
        }
    }

    private static void CheckPosition(SparseSequence seq, ulong sequenceId, int t, uint vocab, int entryStart)
    {
        int tok = seq.Tokens[t];
        if ((uint)tok >= vocab)
            throw new ArgumentException($"sequence {sequenceId} position {t}: token {tok} is not below the vocabulary size {vocab}");
        int n = seq.KeptCounts[t];
        if (n < 0 || n > ushort.MaxValue)
            throw new ArgumentException($"sequence {sequenceId} position {t}: kept count {n} is outside [0, 65535]");
        var ids = seq.Ids.AsSpan(entryStart, n);
        var probs = seq.Probs.AsSpan(entryStart, n);
        for (int j = 0; j < n; j++)
        {
            if ((uint)ids[j] >= vocab)
                throw new ArgumentException($"sequence {sequenceId} position {t}: id {ids[j]} is not below the vocabulary size {vocab}");
            if (!(probs[j] >= 0) || float.IsInfinity(probs[j]))
                throw new ArgumentException(
                    $"sequence {sequenceId} position {t}: probability {probs[j]} is not finite and non-negative");
        }
    }

    private sealed class Scratch
    {
        public int[] Lengths = [];
        public int[] Tokens = [];
        public int[] Counts = [];
        public int[] Ids = [];
        public float[] Probs = [];
        public float[] Residual = [];
        private readonly byte[][] _cols = new byte[ColumnTable.Written.Length][];
        private readonly byte[][] _z = new byte[ColumnTable.Written.Length][];
        private Compressor? _compressor;
        private int _level;

        public void Ensure(int sequences, int positions, int entries)
        {
            if (Lengths.Length < sequences) Lengths = new int[sequences];
            if (Tokens.Length < positions)
            {
                Tokens = new int[positions];
                Counts = new int[positions];
                Residual = new float[positions];
            }
            if (Ids.Length < entries)
            {
                Ids = new int[entries];
                Probs = new float[entries];
            }
        }

        public byte[] Col(int c, int size) => _cols[c] is { } b && b.Length >= size ? b : _cols[c] = new byte[Math.Max(size, 64)];

        public byte[] Compressed(int c, int size) => _z[c] is { } b && b.Length >= size ? b : _z[c] = new byte[Math.Max(size, 64)];

        public Compressor Compressor(int level)
        {
            if (_compressor is null || _level != level)
            {
                _compressor?.Dispose();
                _compressor = new Compressor(level == 0 ? 1 : level);
                _level = level;
            }
            return _compressor;
        }
    }
}
