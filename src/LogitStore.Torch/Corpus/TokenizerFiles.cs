using System.Buffers.Binary;
using System.Text;
using LogitStore.Format;

namespace LogitStore.Torch.Corpus;

/// <summary>
/// The files of a checkpoint directory that define how text becomes ids, in the order the vocabulary hash reads them
/// (format-spec 2.0.1). Other files (config.json, weights, special_tokens_map.json) are not part of the identity.
/// </summary>
internal sealed class TokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerModel = "tokenizer.model";
    public const string TokenizerConfig = "tokenizer_config.json";
    public const string ModelConfig = "config.json";

    /// <summary>The hash's order; a file that is absent is left out.</summary>
    public static readonly string[] HashOrder = [TokenizerJson, TokenizerModel, TokenizerConfig];

    public TokenizerFiles(string directory) => Directory = directory;

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public bool Has(string name) => File.Exists(PathOf(name));

    /// <summary>
    /// XXH3-64 over, for each file of <see cref="HashOrder"/> that is present: u32 LE byte length of its UTF-8 name, the
    /// name, u64 LE byte length of its content, the content.
    /// </summary>
    public string Hash()
    {
        using var framed = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        foreach (var name in HashOrder)
        {
            if (!Has(name)) continue;
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            byte[] content = File.ReadAllBytes(PathOf(name));
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)nameBytes.Length);
            framed.Write(length[..4]);
            framed.Write(nameBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)content.Length);
            framed.Write(length);
            framed.Write(content);
        }
        return Checksum.ToHex(Checksum.Of(framed.GetBuffer().AsSpan(0, (int)framed.Length)));
    }
}
