using System.Text.Json.Nodes;

namespace LogitStore.Synthetic;

/// <summary>What a synthetic pack generates; recorded in the manifest's <c>source</c> so that a resume regenerates the same data.</summary>
public sealed record SyntheticSource(ulong Tokens, uint VocabSize, int SequenceLength = 1024, ulong Seed = 1, int Head = 128)
{
    public const string Kind = "synthetic";

    /// <summary>Largest vocabulary: each encoding thread holds the dense logits of one position (V floats).</summary>
    public const uint MaxVocabSize = 1u << 24;

    /// <summary>Largest sequence: a sequence is one unit of writing and of random access.</summary>
    public const int MaxSequenceLength = 1 << 20;

    /// <summary>Refuses what cannot be generated, before any file is written.</summary>
    public void Validate()
    {
        if (Tokens < 1) throw new SettingException("tokens", "must be at least 1");
        if (VocabSize is < 2 or > MaxVocabSize)
            throw new SettingException("vocab_size", $"must be in [2, {MaxVocabSize:N0}] for the synthetic teacher, got {VocabSize:N0}");
        if (SequenceLength is < 1 or > MaxSequenceLength)
            throw new SettingException("sequence_length", $"must be in [1, {MaxSequenceLength:N0}], got {SequenceLength:N0}");
        if (Head < 1) throw new ArgumentException($"the synthetic head must be >= 1, got {Head}");
    }

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
        if ((string?)o["kind"] != Kind)
            throw new InvalidOperationException($"the store's source is '{(string?)o["kind"]}', not synthetic");
        T Member<T>(string name) => o[name] is JsonValue v && v.TryGetValue(out T? x) && x is not null
            ? x : throw new InvalidOperationException($"the manifest's synthetic source has no number '{name}'");
        var source = new SyntheticSource(
            Member<ulong>("tokens"), Member<uint>("vocab_size"), Member<int>("sequence_length"), Member<ulong>("seed"),
            Member<int>("head"));
        try
        {
            source.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"the manifest's synthetic source is invalid: {e.Message}");
        }
        return source;
    }
}
