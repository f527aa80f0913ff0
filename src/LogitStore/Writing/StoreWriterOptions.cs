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

    /// <summary>Checks every setting a new store records, before a file is touched: the one check of a writer's settings.</summary>
    public void Validate()
    {
        ValidateSettings(Processing, Codecs);
        Codecs.Validate(VocabSize);
    }

    /// <summary>The part of <see cref="Validate"/> that needs no vocabulary: what a pack checks before it opens its source.</summary>
    public static void ValidateSettings(ProcessingOptions processing, CodecOptions codecs)
    {
        processing.Validate();
        codecs.Validate(processing);
    }
}
