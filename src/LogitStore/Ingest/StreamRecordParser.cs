using System.Buffers.Binary;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Ingest;

/// <summary>
/// Turns a sequence frame's payload into a processed <see cref="SparseSequence"/> (stream-protocol.md 2.1, 3). One per thread.
/// </summary>
internal sealed class StreamRecordParser
{
    private readonly StreamHeader _header;
    private readonly string _stream;
    private readonly LogitsProcessor _processor;
    private readonly SparseSequenceBuilder _builder = new();
    private readonly int[] _keptIds;
    private readonly float[] _keptProbs;
    private readonly HashSet<int> _seen = new();
    private int[] _ids = [];
    private float[] _values = [];


    public StreamRecordParser(StreamHeader header, string stream, ProcessingOptions processing)
    {
        _header = header;
        _stream = stream;
        _processor = new LogitsProcessor(processing);
        if (header.Kind == StreamPayloadKind.TopKLogProbs)
        {
            if (processing.Temperature != 1f)
                throw new ArgumentException(
                    "a stream of top-k log-probabilities needs temperature 1: apply τ in the producer before taking the top-k");
            if (processing.Method == TruncationMethod.Sampled)
                throw new ArgumentException("sampled truncation needs full logits (payload kind 2)");
        }
        int cap = header.Kind == StreamPayloadKind.TopKLogProbs ? (int)header.MaxEntries : (int)header.VocabSize;
        int maxKept = _processor.MaxKept(cap);
        _keptIds = new int[maxKept];
        _keptProbs = new float[maxKept];
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
        uint t = (uint)tokens.Length;
        _builder.Clear();
        for (int pos = 0; pos < t; pos++)
        {
            long at = baseOffset + o;
            (int kept, float residual) r;
            try
            {
                r = _header.Kind == StreamPayloadKind.TopKLogProbs
                    ? ParseTopK(p, ref o, baseOffset, sequenceId, pos)
                    : ParseFull(p, ref o, baseOffset, sequenceId, pos);
            }
            catch (ArgumentException ex)
            {
                throw Corrupt(at, $"position {pos}: {ex.Message}");
            }
            _builder.AddPosition(tokens[pos], _keptIds.AsSpan(0, r.kept), _keptProbs.AsSpan(0, r.kept), r.residual);
        }
        if (o != p.Length) throw Corrupt(baseOffset + o, $"{p.Length - o} bytes left over after the last position record");
        return _builder.Build();
    }

    private (int, float) ParseTopK(ReadOnlySpan<byte> p, ref int o, long baseOffset, ulong seq, int pos)
    {
        if (o + 2 > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a position record");
        int n = BinaryPrimitives.ReadUInt16LittleEndian(p[o..]);
        o += 2;
        if (n < 1 || n > _header.MaxEntries) throw Corrupt(baseOffset + o - 2, $"entry count {n} is outside [1, {_header.MaxEntries}]");
        if (o + 8 * n > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a position record");
        if (_ids.Length < n) { _ids = new int[n]; _values = new float[n]; }
        _seen.Clear();
        double mass = 0;
        for (int j = 0; j < n; j++)
        {
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(p[(o + 4 * j)..]);
            if (id >= _header.VocabSize)
                throw Corrupt(baseOffset + o + 4 * j, $"id {id} is not below the vocabulary size {_header.VocabSize}");
            if (!_seen.Add((int)id)) throw Corrupt(baseOffset + o + 4 * j, $"id {id} appears twice in one position");
            _ids[j] = (int)id;
        }
        o += 4 * n;
        for (int j = 0; j < n; j++)
        {
            float lp = BinaryPrimitives.ReadSingleLittleEndian(p[(o + 4 * j)..]);
            if (!float.IsFinite(lp) || lp > 1e-4f)
                throw Corrupt(baseOffset + o + 4 * j, $"log-probability {lp} is not a finite value <= 0");
            _values[j] = lp;
            mass += Math.Exp(lp);
        }
        o += 4 * n;
        if (mass > 1 + ProcessingOptions.SuppliedMassTolerance)
            throw Corrupt(baseOffset + o - 4 * n, $"log-probabilities give a mass of {mass:G6}, more than 1 + {ProcessingOptions.SuppliedMassTolerance}");
        double outside = Math.Clamp(1 - mass, 0, 0.999999);
        return _processor.Process(_ids.AsSpan(0, n), _values.AsSpan(0, n), outside, _keptIds, _keptProbs, seq * 65536 + (ulong)pos);
    }

    private (int, float) ParseFull(ReadOnlySpan<byte> p, ref int o, long baseOffset, ulong seq, int pos)
    {
        int v = (int)_header.VocabSize;
        if (o + 4L * v > p.Length) throw Corrupt(baseOffset + o, "payload ends inside a full-logits record");
        if (_values.Length < v) _values = new float[v];
        for (int j = 0; j < v; j++)
        {
            float z = BinaryPrimitives.ReadSingleLittleEndian(p[(o + 4 * j)..]);
            if (!float.IsFinite(z)) throw Corrupt(baseOffset + o + 4 * j, $"logit {z} of id {j} is not finite");
            _values[j] = z;
        }
        o += 4 * v;
        return _processor.ProcessDense(_values.AsSpan(0, v), _keptIds, _keptProbs, seq * 65536 + (ulong)pos);
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
