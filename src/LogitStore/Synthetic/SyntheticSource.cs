using System.Text.Json.Nodes;

namespace LogitStore.Synthetic;

/// <summary>What a synthetic pack generates; recorded in the manifest's <c>source</c> so that a resume regenerates the same data.</summary>
public sealed record SyntheticSource(ulong Tokens, uint VocabSize, int SequenceLength = 1024, ulong Seed = 1, int Head = 128)
{
    public const string Kind = "synthetic";

    public ulong TotalSequences => Math.Max(1, Tokens / (ulong)SequenceLength);

    public JsonObject ToJson() => new()
    {
        ["kind"] = Kind,
        ["tokens"] = Tokens,
        ["vocab_size"] = VocabSize,
        ["sequence_length"] = SequenceLength,
        ["seed"] = Seed,
        ["head"] = Head,
        ["total_sequences"] = TotalSequences,
    };

    public static SyntheticSource FromJson(JsonObject o)
    {
        if ((string?)o["kind"] != Kind) throw new InvalidOperationException($"the store's source is '{(string?)o["kind"]}', not synthetic");
        return new SyntheticSource(
            (ulong)o["tokens"]!, (uint)o["vocab_size"]!, (int)o["sequence_length"]!, (ulong)o["seed"]!, (int)o["head"]!);
    }
}
