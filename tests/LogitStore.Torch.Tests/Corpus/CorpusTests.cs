using LogitStore.Torch.Corpus;

namespace LogitStore.Tests.Torch;

public class CorpusTests
{
    private static readonly string Sample = Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample");

    [Fact]
    public void Brown_TagsAreStripped_AndPunctuationReattached()
    {
        var docs = TextDocuments.Read(Sample).ToList();
        Assert.Equal(["ca01", "cj01", "cr09"], docs.Select(d => d.Name));
        var text = docs[0].Text;
        Assert.StartsWith(
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" " +
            "that any irregularities took place.",
            text);
        Assert.DoesNotContain("/at", text);
        Assert.DoesNotContain(" ,", text);
    }

    [Fact]
    public void Tokenizer_IsCl100k_AndCorpusPacksIntoSequencesWithSeparators()
    {
        var tok = TextTokenizer.Create();
        Assert.Equal(100_277, tok.VocabSize);
        Assert.Equal(100_257, tok.EndOfText);
        Assert.Equal("The jury", tok.Decode(tok.Encode("The jury")));
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(Sample), tok, 64, heldOutEvery: 3);
        Assert.Equal(3, corpus.Documents);
        Assert.Equal(0, corpus.Train.Length % 64);
        Assert.True(corpus.TrainSequences > 5);
        Assert.Contains(tok.EndOfText, corpus.Train.Concat(corpus.HeldOut));
        // The split is a pure function of the document name.
        var again = TokenizedCorpus.Build(TextDocuments.Read(Sample), tok, 64, heldOutEvery: 3);
        Assert.Equal(corpus.Train, again.Train);
        Assert.Equal(corpus.HeldOut, again.HeldOut);
        Assert.Equal(16, tok.VocabHash().Length);
    }

    [Fact]
    public void Cl100kDocuments_JoinAsTextThenEndOfText_WithNoBos()
    {
        var tok = TextTokenizer.Create();
        var docs = TextDocuments.Read(Sample).ToList();
        var corpus = TokenizedCorpus.Build(docs, tok, 16, heldOutEvery: 1_000_000);
        var joined = docs.SelectMany(d => tok.Encode(d.Text).Append(tok.EndOfText)).ToArray();
        Assert.Equal(joined[..(joined.Length - joined.Length % 16)], corpus.Train.Concat(corpus.HeldOut).ToArray());
        Assert.Null(tok.BeginningOfDocument);
        Assert.Equal(tok.Encode("a<|endoftext|>b").Append(100_257), tok.EncodeDocument("a<|endoftext|>b"));
    }

    [Fact]
    public void JsonLines_MalformedLine_IsNamedWithItsOffset()
    {
        string path = Path.Combine(TestData.TempDir(), "c.jsonl");
        File.WriteAllText(path, "{\"text\": \"one\"}\n{\"txt\": 2}\n");
        var ex = Assert.Throws<InvalidDataException>(() => TextDocuments.Read(path).ToList());
        Assert.Contains("c.jsonl @ offset 16 (line 2)", ex.Message);
    }
}
