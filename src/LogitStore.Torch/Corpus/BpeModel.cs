using System.Text.Json;

namespace LogitStore.Torch.Corpus;

/// <summary>tokenizer.json's BPE <c>model</c>: its vocabulary and its merges, in rank order.</summary>
internal sealed record BpeModel(Dictionary<string, int> Vocab, List<string> Merges)
{
    /// <summary>Reads <c>vocab</c> and <c>merges</c> (each merge written "a b" or as ["a", "b"]).</summary>
    public static BpeModel Read(JsonElement model)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject()) vocab[entry.Name] = entry.Value.GetInt32();
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!)
            .ToList();
        return new BpeModel(vocab, merges);
    }
}
