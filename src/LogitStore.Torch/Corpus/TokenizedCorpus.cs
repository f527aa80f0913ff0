using System.Text;
using LogitStore.Format;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// A corpus tokenised and packed into fixed-length sequences: each document as its tokenizer's family frames it for
/// pre-training (<see cref="TextTokenizer.EncodeDocument"/>), cut every <c>SequenceLength</c> tokens (the last partial
/// sequence is dropped). Documents go to the held-out split deterministically, by a hash of their name.
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
        int Cut(int n) => n - n % sequenceLength;
        // A token limit is met in whole sequences: read on until the two splits' whole sequences cover it.
        long wanted = maxTokens == long.MaxValue ? long.MaxValue : (maxTokens + sequenceLength - 1) / sequenceLength * sequenceLength;
        foreach (var d in documents)
        {
            var target = IsHeldOut(d.Name, heldOutEvery) ? held : train;
            target.AddRange(tokenizer.EncodeDocument(d.Text));
            docs++;
            if ((long)Cut(train.Count) + Cut(held.Count) >= wanted) break;
        }
        return new TokenizedCorpus(
            train.GetRange(0, Cut(train.Count)).ToArray(), held.GetRange(0, Cut(held.Count)).ToArray(), sequenceLength, docs);
    }
}
