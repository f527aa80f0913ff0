using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace LogitStore.Format;

/// <summary>
/// What a store's content is made from (spec 2.9): teacher, tokenizer, corpus, processing and codecs, one XXH3-64 each,
/// and <see cref="Content"/> over all five.
/// </summary>
public readonly record struct StoreFingerprint(ulong Teacher, ulong Tokenizer, ulong Corpus, ulong Processing, ulong Codecs)
{
    /// <summary>The components in the spec's order, with their manifest names.</summary>
    public static readonly string[] ComponentNames = ["teacher", "tokenizer", "corpus", "processing", "codecs"];

    public ulong Content
    {
        get
        {
            Span<byte> all = stackalloc byte[8 * 5];
            var values = Components;
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(all[(8 * i)..], values[i]);
            return XxHash3.HashToUInt64(all);
        }
    }

    public ulong[] Components => [Teacher, Tokenizer, Corpus, Processing, Codecs];

    /// <summary>The fingerprint of a manifest's own members, with <paramref name="corpus"/> for the committed sequences.</summary>
    public static StoreFingerprint Of(Manifest m, ulong corpus) =>
        new(TeacherOf(m), TokenizerOf(m.Tokenizer), corpus, ProcessingOf(m.Processing), CodecsOf(m.Codecs));

    /// <summary>The fingerprint a manifest records; null before 1.4.</summary>
    public static StoreFingerprint? Recorded(Manifest m) => m.Fingerprint is { } f ? f.ToFingerprint() : null;

    /// <summary>The names of the components in which <paramref name="other"/> differs (empty when the two are equal).</summary>
    public IReadOnlyList<string> DifferingComponents(StoreFingerprint other)
    {
        var (a, b) = (Components, other.Components);
        return Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).Select(i => ComponentNames[i]).ToList();
    }

    /// <summary>One sequence's term of <c>corpus</c>: H(u64(id) ‖ u32(T) ‖ u32 tokens).</summary>
    public static ulong SequenceTerm(ulong sequenceId, ReadOnlySpan<int> tokens)
    {
        var hash = new XxHash3();
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, sequenceId);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)tokens.Length);
        hash.Append(head);
        if (BitConverter.IsLittleEndian) hash.Append(MemoryMarshal.AsBytes(tokens));
        else
            foreach (int t in tokens)
            {
                BinaryPrimitives.WriteInt32LittleEndian(head, t);
                hash.Append(head[..4]);
            }
        return hash.GetCurrentHashAsUInt64();
    }

    private static ulong TeacherOf(Manifest m)
    {
        var b = new FieldBytes();
        b.Str(m.Teacher["id"] is System.Text.Json.Nodes.JsonValue id && id.TryGetValue(out string? s) ? s : "");
        b.Str(m.Teacher["weights_xxh3"] is System.Text.Json.Nodes.JsonValue w && w.TryGetValue(out string? h) ? h : "");
        return b.Hash();
    }

    private static ulong TokenizerOf(TokenizerInfo t) => new FieldBytes().Str(t.Name).Str(t.VocabHash).Hash();

    private static ulong ProcessingOf(ProcessingSection p) =>
        new FieldBytes().Str(p.Method).F32(p.Temperature).F32(p.TopP).U32((uint)p.TopK).U32((uint)p.Draws).U64(p.Seed).Hash();

    private static ulong CodecsOf(CodecSection c) =>
        new FieldBytes().Str(c.Tokens).Str(c.Ids).Str(c.Values).F64(c.ValueLogRange).U32((uint)c.MvqBeam).U32((uint)c.DictionarySample)
            .Hash();

    /// <summary>The byte strings of spec 2.9, little-endian.</summary>
    private sealed class FieldBytes
    {
        private readonly List<byte> _bytes = new();

        public FieldBytes Str(string s)
        {
            var utf8 = Encoding.UTF8.GetBytes(s);
            U32((uint)utf8.Length);
            _bytes.AddRange(utf8);
            return this;
        }

        public FieldBytes U32(uint v) => Add(BitConverter.GetBytes(v));
        public FieldBytes U64(ulong v) => Add(BitConverter.GetBytes(v));
        public FieldBytes F32(float v) => U32(BitConverter.SingleToUInt32Bits(v));
        public FieldBytes F64(double v) => U64(BitConverter.DoubleToUInt64Bits(v));

        private FieldBytes Add(byte[] b)
        {
            if (!BitConverter.IsLittleEndian) Array.Reverse(b);
            _bytes.AddRange(b);
            return this;
        }

        public ulong Hash() => XxHash3.HashToUInt64(CollectionsMarshal.AsSpan(_bytes));
    }

    public FingerprintSection ToSection() => new()
    {
        Teacher = Checksum.ToHex(Teacher), Tokenizer = Checksum.ToHex(Tokenizer), Corpus = Checksum.ToHex(Corpus),
        Processing = Checksum.ToHex(Processing), Codecs = Checksum.ToHex(Codecs), Content = Checksum.ToHex(Content),
    };

    public override string ToString() =>
        $"{Checksum.ToHex(Content)} (teacher {Checksum.ToHex(Teacher)}, tokenizer {Checksum.ToHex(Tokenizer)}, " +
        $"corpus {Checksum.ToHex(Corpus)}, processing {Checksum.ToHex(Processing)}, codecs {Checksum.ToHex(Codecs)})";
}

/// <summary>The manifest's <c>fingerprint</c> member (spec 2.9), as its hex strings.</summary>
public sealed class FingerprintSection
{
    public string Teacher { get; set; } = "";
    public string Tokenizer { get; set; } = "";
    public string Corpus { get; set; } = "";
    public string Processing { get; set; } = "";
    public string Codecs { get; set; } = "";
    public string Content { get; set; } = "";

    /// <summary>The u64s the strings spell; null when one is not 16 lowercase hex digits (2.0).</summary>
    public StoreFingerprint? ToFingerprint()
    {
        ulong? Parse(string? s) =>
            s is { Length: 16 } && s.All(ch => ch is >= '0' and <= '9' or >= 'a' and <= 'f') ? Convert.ToUInt64(s, 16) : null;
        if (Parse(Teacher) is not { } t || Parse(Tokenizer) is not { } k || Parse(Corpus) is not { } c || Parse(Processing) is not { } p
            || Parse(Codecs) is not { } d || Parse(Content) is not { } all)
            return null;
        var f = new StoreFingerprint(t, k, c, p, d);
        return f.Content == all ? f : null;
    }
}
