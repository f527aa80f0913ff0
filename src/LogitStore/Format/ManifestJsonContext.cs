using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LogitStore.Format;

/// <summary>
/// Source-generated (reflection-free, NativeAOT-safe) serialisation of <c>manifest.json</c>, with the settings of
/// <see cref="Manifest.JsonOptions"/>: snake_case members, indented, "\n" newlines.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, NewLine = "\n")]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
