using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// A SentencePiece tokenizer.model (Llama 2, Mistral, TinyLlama) through Microsoft.ML.Tokenizers. Special-token strings
/// (the model's unknown, BOS and EOS pieces, and the added tokens of tokenizer_config.json) are cut out of the text first
/// and each stretch between them encoded on its own, with its own dummy prefix: what Hugging Face's LlamaTokenizer does
/// in its default (legacy) mode and its tokenizer.json counterpart does by prepending ▁ per stretch.
/// </summary>
internal sealed class SentencePieceEncoder : ITextEncoder
{
    private readonly SentencePieceTokenizer _model;
    private readonly AddedTokens _specials;

    private SentencePieceEncoder(SentencePieceTokenizer model, AddedTokens specials)
    {
        _model = model;
        _specials = specials;
    }

    public static SentencePieceEncoder Create(string modelPath, IReadOnlyList<AddedToken> added, out int vocabSize)
    {
        SentencePieceTokenizer model;
        using (var stream = File.OpenRead(modelPath))
        {
            try { model = SentencePieceTokenizer.Create(stream, false, false); }
            catch (Exception e) when (e is not IOException)
            {
                throw new ArgumentException($"{modelPath}: not a SentencePiece model this tokenizer reads ({e.Message})", e);
            }
        }
        var specials = new List<AddedToken>(added);
        foreach (var (piece, id) in new[]
                 {
                     (model.UnknownToken, model.UnknownId), (model.BeginningOfSentenceToken, model.BeginningOfSentenceId),
                     (model.EndOfSentenceToken, model.EndOfSentenceId),
                 })
            if (id >= 0 && !string.IsNullOrEmpty(piece)) specials.Add(new AddedToken(piece, id));
        vocabSize = Math.Max(model.Vocabulary.Values.Max(), specials.Max(t => t.Id)) + 1;
        return new SentencePieceEncoder(model, new AddedTokens(specials));
    }

    public int BeginningOfSentenceId => _model.BeginningOfSentenceId;

    public int EndOfSentenceId => _model.EndOfSentenceId;

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        _specials.Split(
            text, part => ids.AddRange(_model.EncodeToIds(part, addBeginningOfSentence: false, addEndOfSentence: false)), ids.Add);
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => _model.Decode(ids);
}
