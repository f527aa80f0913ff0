using System.Buffers.Binary;
using System.Text;
using LogitStore.Format;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// The files of a checkpoint directory that define how text becomes ids, in the order the vocabulary hash reads them
/// (format-spec 2.0.1). Other files (config.json, weights, special_tokens_map.json) are not part of the identity; the
/// BOS and EOS ids a document is framed with are, whichever file decided them.
/// </summary>
internal sealed class TokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerModel = "tokenizer.model";
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string ModelConfig = "config.json";

    /// <summary>The hash's order; a file that is absent is left out.</summary>
    public static readonly string[] HashOrder = [TokenizerJson, TokenizerModel, TokenizerConfig];

    /// <summary>The name of the hash's last frame, which holds the document framing rather than a file.</summary>
    public const string FramingFrame = "document-framing";

    public TokenizerFiles(string directory) => Directory = directory;

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public bool Has(string name) => File.Exists(PathOf(name));

    /// <summary>
    /// XXH3-64 over, for each file of <see cref="HashOrder"/> that is present: u32 LE byte length of its UTF-8 name, the
    /// name, u64 LE byte length of its content, the content; then one frame the same way named
    /// <see cref="FramingFrame"/>, its 8 bytes the BOS id (−1 for none) and the EOS id, each i32 LE.
    /// </summary>
    public string Hash(int? beginningOfDocument, int endOfText)
    {
        using var framed = new MemoryStream();
        foreach (var name in HashOrder)
            if (Has(name)) Frame(framed, name, File.ReadAllBytes(PathOf(name)));
        var framing = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(framing, beginningOfDocument ?? -1);
        BinaryPrimitives.WriteInt32LittleEndian(framing.AsSpan(4), endOfText);
        Frame(framed, FramingFrame, framing);
        return Checksum.ToHex(Checksum.Of(framed.GetBuffer().AsSpan(0, (int)framed.Length)));
    }

    private static void Frame(MemoryStream framed, string name, byte[] content)
    {
        Span<byte> length = stackalloc byte[8];
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)nameBytes.Length);
        framed.Write(length[..4]);
        framed.Write(nameBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)content.Length);
        framed.Write(length);
        framed.Write(content);
    }
}
