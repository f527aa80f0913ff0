using System.Text.Json.Nodes;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Writing;

/// <summary>Everything a new store records about itself; see format-spec section 2.</summary>
public sealed record StoreWriterOptions
{
    public required uint VocabSize { get; init; }
    public TokenizerInfo Tokenizer { get; init; } = new();
    public JsonObject Teacher { get; init; } = new() { ["id"] = "unknown" };
    public ProcessingOptions Processing { get; init; } = new();
    public CodecOptions Codecs { get; init; } = new();
    public JsonObject Source { get; init; } = new();
    public PartitionInfo? Partition { get; init; }

    /// <summary>Blocks encoded in parallel; defaults to every core.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Replace an existing store at the path instead of refusing.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Derives <c>store_id</c> and <c>pack_id</c> from this seed (<see cref="StoreIdentity"/>), so that the same inputs give a
    /// byte-identical store; null draws them at random.
    /// </summary>
    public ulong? IdentitySeed { get; init; }
}
