using System.Text;
using LogitStore.Format;
using Microsoft.ML.Tokenizers;

namespace LogitStore.Torch.Corpus;

/// <summary>The tokenizer a store records (name + vocabulary hash in the manifest) and how it frames a document.</summary>
public sealed class TextTokenizer
{
    /// <summary>The project's own checkpoints: cl100k_base, 100,277 ids with the special tokens.</summary>
    public const int Cl100kVocabSize = 100_277;

    private readonly ITextEncoder _encoder;
    private readonly int? _beginningOfDocument;
    private readonly Func<string> _vocabHash;

    private TextTokenizer(
        string name, ITextEncoder encoder, int vocabSize, int? beginningOfDocument, int endOfText, Func<string> vocabHash)
    {
        Name = name;
        _encoder = encoder;
        VocabSize = vocabSize;
        _beginningOfDocument = beginningOfDocument;
        EndOfText = endOfText;
        _vocabHash = vocabHash;
    }

    /// <summary><c>cl100k_base</c>, <c>hf-bpe</c> (a tokenizer.json) or <c>sentencepiece</c> (a tokenizer.model).</summary>
    public string Name { get; }

    /// <summary>The largest id the tokenizer can produce, plus one (added and special tokens included).</summary>
    public int VocabSize { get; }

    /// <summary><see cref="VocabSize"/> of a vocabulary's ids and the added or special tokens beside it.</summary>
    internal static int VocabSizeOf(IEnumerable<int> vocabularyIds, IEnumerable<AddedToken> added) =>
        Math.Max(vocabularyIds.Max(), added.Select(t => t.Id).DefaultIfEmpty(0).Max()) + 1;

    /// <summary>The id that ends every document in <see cref="EncodeDocument"/>.</summary>
    public int EndOfText { get; }

    /// <summary>The id that opens every document in <see cref="EncodeDocument"/>, when the family adds one.</summary>
    public int? BeginningOfDocument => _beginningOfDocument;

    /// <summary>cl100k_base (GPT-4's encoding, 100,277 ids with the special tokens).</summary>
    public static TextTokenizer Create(string name = "cl100k_base")
    {
        if (name != "cl100k_base") throw new ArgumentException($"tokenizer '{name}' is not available (cl100k_base)");
        var tok = TiktokenTokenizer.CreateForEncoding(name);
        int eot = tok.SpecialTokens!["<|endoftext|>"];
        int vocab = tok.SpecialTokens.Values.Max() + 1;
        var encoder = new LibraryEncoder(tok);
        return new TextTokenizer(name, encoder, vocab, null, eot, () => DecodedVocabularyHash(encoder, vocab));
    }

    /// <summary>
    /// The tokenizer of a checkpoint directory: its tokenizer.json (byte-level BPE), else its tokenizer.model
    /// (SentencePiece), else cl100k_base when config.json's vocabulary is cl100k's (the project's own checkpoints).
    /// </summary>
    public static TextTokenizer ForCheckpoint(string checkpointDirectory) => CheckpointTokenizer.Load(checkpointDirectory);

    internal static TextTokenizer FromFiles(
        string name, ITextEncoder encoder, int vocabSize, int? beginningOfDocument, int endOfText, TokenizerFiles files) =>
        new(name, encoder, vocabSize, beginningOfDocument, endOfText, () => files.Hash(beginningOfDocument, endOfText));

    /// <summary>
    /// The text's ids, no BOS or EOS added. Special and added token strings in the text (<c>&lt;|endoftext|&gt;</c>,
    /// <c>&lt;s&gt;</c>, …) become their ids, as Hugging Face's <c>tokenizer(text)</c> and cl100k's encoder do by default.
    /// </summary>
    public IReadOnlyList<int> Encode(string text) => _encoder.Encode(text);

    /// <summary>
    /// One document as the family packs documents for pre-training: BOS when the tokenizer adds one, the text's ids
    /// (<see cref="Encode"/>, special-token strings included), then <see cref="EndOfText"/>.
    /// </summary>
    public IReadOnlyList<int> EncodeDocument(string text)
    {
        var body = _encoder.Encode(text);
        var ids = new List<int>(body.Count + 2);
        if (_beginningOfDocument is int bos) ids.Add(bos);
        ids.AddRange(body);
        ids.Add(EndOfText);
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => _encoder.Decode(ids);

    /// <summary>
    /// The tokenizer's identity (format-spec 2.0.1): for cl100k, XXH3-64 over every id's decoded bytes; for a checkpoint's
    /// tokenizer files, XXH3-64 over those files, framed by name and length, and the BOS and EOS ids a document gets.
    /// </summary>
    public string VocabHash() => _vocabHash();

    /// <summary>
    /// XXH3-64 over every id's decoded bytes (ids 0 … V−1 in order, each prefixed by its length): changes if any token changes.
    /// </summary>
    private static string DecodedVocabularyHash(ITextEncoder encoder, int vocabSize)
    {
        var buf = new List<byte>(1 << 20);
        for (int id = 0; id < vocabSize; id++)
        {
            string s;
            try { s = encoder.Decode([id]); } catch (ArgumentException) { s = ""; }
            var b = Encoding.UTF8.GetBytes(s);
            buf.AddRange(BitConverter.GetBytes(b.Length));
            buf.AddRange(b);
        }
        return Checksum.ToHex(Checksum.Of(buf.ToArray()));
    }
}

/// <summary>Text to ids and back, special-token strings recognised; one implementation per tokenizer file kind.</summary>
internal interface ITextEncoder
{
    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids);
}

/// <summary>A Microsoft.ML.Tokenizers tokenizer used as it is (cl100k_base).</summary>
internal sealed class LibraryEncoder(Tokenizer tokenizer) : ITextEncoder
{
    public IReadOnlyList<int> Encode(string text) => tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids);
}
