using System.Text.Json;
using System.Text.Json.Nodes;
using LogitStore.Format;

namespace LogitStore.Loading;

/// <summary>
/// Where a training job's loader stands: the next step, and the fingerprint (spec 2.9) of the store it reads, so that a
/// resumed job can refuse a store other than the one it trained on.
/// </summary>
public sealed record LoaderResumeState(long Step, StoreFingerprint Fingerprint)
{
    public JsonObject ToJson() => new()
    {
        ["step"] = Step,
        ["store_fingerprint"] = JsonSerializer.SerializeToNode(Fingerprint.ToSection(), ManifestJsonContext.Default.FingerprintSection),
    };

    /// <summary>Reads <see cref="ToJson"/>'s object; <paramref name="source"/> names where it came from in errors.</summary>
    public static LoaderResumeState FromJson(JsonNode? json, string source)
    {
        long step = json?["step"] is JsonValue v && v.TryGetValue(out long s) && s >= 0
            ? s
            : throw new InvalidDataException($"{source}: the loader state has no step >= 0");
        var section = json?["store_fingerprint"]?.Deserialize(ManifestJsonContext.Default.FingerprintSection);
        var fingerprint = section?.ToFingerprint()
            ?? throw new InvalidDataException($"{source}: the loader state has no valid 'store_fingerprint'");
        return new LoaderResumeState(step, fingerprint);
    }

    /// <summary>Refuses a store whose fingerprint differs from the recorded one, naming the components that differ.</summary>
    public void CheckStore(StoreFingerprint store, string storeDirectory)
    {
        var differing = Fingerprint.DifferingComponents(store);
        if (differing.Count > 0) throw new StoreFingerprintMismatchException(storeDirectory, differing, Fingerprint, store);
    }
}

/// <summary>A resumed training job met a store other than the one it trained on.</summary>
public sealed class StoreFingerprintMismatchException(
    string storeDirectory, IReadOnlyList<string> components, StoreFingerprint recorded, StoreFingerprint found)
    : InvalidOperationException(
        $"{storeDirectory}: the store's {string.Join(", ", components)} differ from the store this job trained on " +
        $"(fingerprint {Checksum.ToHex(found.Content)}, the job recorded {Checksum.ToHex(recorded.Content)}); " +
        "resume against that store, or start a new run")
{
    /// <summary>The fingerprint components that differ (spec 2.9 names).</summary>
    public IReadOnlyList<string> Components { get; } = components;
}
