using System.Buffers.Binary;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Ingest;

/// <summary>
/// Turns a sequence frame's payload into a processed <see cref="SparseSequence"/> (stream-protocol.md 2.1, 3): reads the
/// frame's bytes and hands each position record to a <see cref="TeacherRecordProcessor"/>, naming the offset of any value
/// it refuses. One per thread.
/// </summary>
internal sealed class StreamRecordParser
{
    private readonly StreamHeader _header;
    private readonly string _stream;
    private readonly TeacherRecordProcessor _records;
    private int[] _ids = [];
    private float[] _values = [];

    public StreamRecordParser(StreamHeader header, string stream, ProcessingOptions processing)
    {
        _header = header;
        _stream = stream;
        _records = new TeacherRecordProcessor(header.VocabSize, processing);
        if (header.Kind == StreamPayloadKind.TopKLogProbs) TeacherRecordProcessor.CheckTopKProcessing(processing);
    }

    /// <summary>A sequence frame's input tokens alone (what a resume compares with the committed sequences).</summary>
    public int[] Tokens(StreamFrame frame)
    {
        int o = 0;
        return ReadTokens(frame, ref o);
    }

    private int[] ReadTokens(StreamFrame frame, ref int o)
    {
        var p = frame.Payload.AsSpan();
        long baseOffset = frame.Offset + StreamFrame.HeaderSize;
        uint vocab = _header.VocabSize;
        uint t = ReadU32(p, ref o, baseOffset, "token count");
        if (t == 0) throw Corrupt(baseOffset, "sequence has no tokens");
        if ((long)t * 4 > p.Length - 4) throw Corrupt(baseOffset, $"token count {t} does not fit the {p.Length}-byte payload");
        var tokens = new int[t];
        for (int i = 0; i < t; i++)
        {
            long at = baseOffset + o;
            uint tok = ReadU32(p, ref o, baseOffset, "token");
            if (tok >= vocab) throw Corrupt(at, $"token {tok} is not below the vocabulary size {vocab}");
            tokens[i] = (int)tok;
        }
        return tokens;
    }

    public SparseSequence Parse(StreamFrame frame, ulong sequenceId)
    {
        var p = frame.Payload.AsSpan();
        long baseOffset = frame.Offset + StreamFrame.HeaderSize;
        int o = 0;
        var tokens = ReadTokens(frame, ref o);
        _records.Begin();
        for (int pos = 0; pos < tokens.Length; pos++)
        {
            long at = baseOffset + o;
            try
            {
                if (_header.Kind == StreamPayloadKind.TopKLogProbs) ParseTopK(p, ref o, baseOffset, tokens[pos], sequenceId, pos);
                else ParseFull(p, ref o, baseOffset, tokens[pos], sequenceId, pos);
            }
            catch (ArgumentException ex) when (ex is not RecordValueException)
            {
                throw Corrupt(at, $"position {pos}: {ex.Message}");
            }
        }
        if (o != p.Length) throw Corrupt(baseOffset + o, $"{p.Length - o} bytes left over after the last position record");
        return _records.Build();
    }

    private void ParseTopK(ReadOnlySpan<byte> p, ref int o, long baseOffset, int token, ulong seq, int pos)
    {
        if (o + 2 > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a position record");
        int n = BinaryPrimitives.ReadUInt16LittleEndian(p[o..]);
        o += 2;
        if (n < 1 || n > _header.MaxEntries) throw Corrupt(baseOffset + o - 2, $"entry count {n} is outside [1, {_header.MaxEntries}]");
        if (o + 8 * n > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a position record");
        if (_ids.Length < n) { _ids = new int[n]; _values = new float[n]; }
        int idsAt = o, logprobsAt = o + 4 * n;
        for (int j = 0; j < n; j++)
        {
            _ids[j] = (int)BinaryPrimitives.ReadUInt32LittleEndian(p[(idsAt + 4 * j)..]);
            _values[j] = BinaryPrimitives.ReadSingleLittleEndian(p[(logprobsAt + 4 * j)..]);
        }
        o += 8 * n;
        var ids = _ids.AsSpan(0, n);
        var logprobs = _values.AsSpan(0, n);
        double mass;
        try
        {
            mass = _records.CheckTopK(ids, logprobs);
        }
        catch (RecordValueException ex)
        {
            throw Corrupt(baseOffset + ex.Field switch
            {
                RecordField.Id => idsAt + 4 * ex.Entry,
                RecordField.LogProb => logprobsAt + 4 * ex.Entry,
                _ => logprobsAt,
            }, ex.Message);
        }
        _records.AddTopK(token, ids, logprobs, mass, seq, pos);
    }

    private void ParseFull(ReadOnlySpan<byte> p, ref int o, long baseOffset, int token, ulong seq, int pos)
    {
        int v = (int)_header.VocabSize;
        if (o + 4L * v > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a full-logits record");
        if (_values.Length < v) _values = new float[v];
        for (int j = 0; j < v; j++) _values[j] = BinaryPrimitives.ReadSingleLittleEndian(p[(o + 4 * j)..]);
        var logits = _values.AsSpan(0, v);
        try
        {
            TeacherRecordProcessor.CheckLogits(logits);
        }
        catch (RecordValueException ex)
        {
            throw Corrupt(baseOffset + o + 4 * ex.Entry, ex.Message);
        }
        o += 4 * v;
        _records.AddLogits(token, logits, seq, pos);
    }

    private uint ReadU32(ReadOnlySpan<byte> p, ref int o, long baseOffset, string what)
    {
        if (o + 4 > p.Length) throw Corrupt(baseOffset + o, $"payload ends inside the {what}");
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(p[o..]);
        o += 4;
        return v;
    }

    private StoreCorruptException Corrupt(long offset, string problem) => new(_stream, offset, problem);
}
