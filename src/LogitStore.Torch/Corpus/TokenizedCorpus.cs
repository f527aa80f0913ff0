using System.Text;
using LogitStore.Format;
using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>The tokenizer a store records (name + vocabulary hash in the manifest) and its end-of-text id.</summary>
public sealed class TextTokenizer
{
    private TextTokenizer(string name, Tokenizer tokenizer, int vocabSize, int endOfText)
    {
        Name = name;
        Inner = tokenizer;
        VocabSize = vocabSize;
        EndOfText = endOfText;
    }

    public string Name { get; }
    public Tokenizer Inner { get; }
    public int VocabSize { get; }
    public int EndOfText { get; }

    /// <summary>cl100k_base (GPT-4's encoding, 100,277 ids with the special tokens).</summary>
    public static TextTokenizer Create(string name = "cl100k_base")
    {
        if (name != "cl100k_base") throw new ArgumentException($"tokenizer '{name}' is not available (cl100k_base)");
        var tok = TiktokenTokenizer.CreateForEncoding(name);
        int eot = tok.SpecialTokens!["<|endoftext|>"];
        int vocab = tok.SpecialTokens.Values.Max() + 1;
        return new TextTokenizer(name, tok, vocab, eot);
    }

    public IReadOnlyList<int> Encode(string text) => Inner.EncodeToIds(text);

    /// <summary>The tokenizer a checkpoint was trained with (placeholder: cl100k).</summary>
    public static TextTokenizer ForCheckpoint(string checkpointDirectory) => Create();

    /// <summary>A document as the family joins documents: its ids, then end-of-text.</summary>
    public IReadOnlyList<int> EncodeDocument(string text) => [.. Encode(text), EndOfText];

    public string Decode(IEnumerable<int> ids) => Inner.Decode(ids);

    /// <summary>
    /// XXH3-64 over every id's decoded bytes (ids 0 … V−1 in order, each prefixed by its length): changes if any token changes.
    /// </summary>
    public string VocabHash()
    {
        var buf = new List<byte>(1 << 20);
        Span<int> one = stackalloc int[1];
        for (int id = 0; id < VocabSize; id++)
        {
            string s;
            try { s = Inner.Decode([id]); } catch (ArgumentException) { s = ""; }
            var b = Encoding.UTF8.GetBytes(s);
            buf.AddRange(BitConverter.GetBytes(b.Length));
            buf.AddRange(b);
        }
        return Checksum.ToHex(Checksum.Of(buf.ToArray()));
    }
}

/// <summary>
/// A corpus tokenised and packed into fixed-length sequences: documents joined with end-of-text separators and
/// cut every <c>SequenceLength</c> tokens (the last partial sequence is dropped). Documents go to the held-out split
/// deterministically, by a hash of their name.
/// </summary>
public sealed class TokenizedCorpus
{
    public TokenizedCorpus(int[] train, int[] heldOut, int sequenceLength, int documents)
    {
        Train = train;
        HeldOut = heldOut;
        SequenceLength = sequenceLength;
        Documents = documents;
    }

    public int[] Train { get; }
    public int[] HeldOut { get; }
    public int SequenceLength { get; }
    public int Documents { get; }

    public int TrainSequences => Train.Length / SequenceLength;
    public int HeldOutSequences => HeldOut.Length / SequenceLength;

    public ReadOnlySpan<int> TrainSequence(int i) => Train.AsSpan(i * SequenceLength, SequenceLength);

    public ReadOnlySpan<int> HeldOutSequence(int i) => HeldOut.AsSpan(i * SequenceLength, SequenceLength);

    /// <summary>True for the documents of the held-out split: XXH3 of the name, 1 in <paramref name="every"/>.</summary>
    public static bool IsHeldOut(string name, int every) => Checksum.Of(Encoding.UTF8.GetBytes(name)) % (ulong)every == 0;

    public static TokenizedCorpus Build(
        IEnumerable<TextDocument> documents, TextTokenizer tokenizer, int sequenceLength, int heldOutEvery = 20,
        long maxTokens = long.MaxValue)
    {
        if (sequenceLength < 2) throw new ArgumentException("sequence length must be at least 2");
        var train = new List<int>();
        var held = new List<int>();
        int docs = 0;
        foreach (var d in documents)
        {
            var target = IsHeldOut(d.Name, heldOutEvery) ? held : train;
            target.AddRange(tokenizer.Encode(d.Text));
            target.Add(tokenizer.EndOfText);
            docs++;
            if (train.Count + held.Count >= maxTokens) break;
        }
        int Cut(int n) => n - n % sequenceLength;
        return new TokenizedCorpus(
            train.GetRange(0, Cut(train.Count)).ToArray(), held.GetRange(0, Cut(held.Count)).ToArray(), sequenceLength, docs);
    }
}
