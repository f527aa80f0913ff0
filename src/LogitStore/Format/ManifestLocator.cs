using System.Text.Json;

namespace LogitStore.Format;

/// <summary>
/// Byte offsets of the manifest's top-level members and of the elements of its top-level arrays, so that a
/// validation error names where in <c>manifest.json</c> the bad value stands.
/// </summary>
internal sealed class ManifestLocator
{
    private readonly Dictionary<string, long> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, int), long> _elements = new();
    private readonly Dictionary<string, long> _values = new(StringComparer.Ordinal);

    public ManifestLocator(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        string? member = null;
        int element = -1;
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
                {
                    member = reader.GetString()!;
                    _members.TryAdd(member, reader.TokenStartIndex);
                    element = -1;
                    if (reader.Read()) _values.TryAdd(member, reader.TokenStartIndex);
                }
                else if (reader.CurrentDepth == 2 && member is not null && reader.TokenType != JsonTokenType.PropertyName
                    && reader.TokenType is not (JsonTokenType.EndArray or JsonTokenType.EndObject))
                {
                    _elements.TryAdd((member, ++element), reader.TokenStartIndex);
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // The offsets found so far stand; the deserializer reports the syntax error.
        }
    }

    /// <summary>
    /// Where the value of top-level member <paramref name="name"/> starts (its opening quote for a string); −1 when absent.
    /// </summary>
    public long ValueOf(string name) => _values.TryGetValue(name, out long v) ? v : -1;

    /// <summary>Where member <paramref name="name"/> (or its element <paramref name="index"/>) starts; 0 when it is absent.</summary>
    public long Of(string name, int index = -1) =>
        index >= 0 && _elements.TryGetValue((name, index), out long e) ? e : _members.TryGetValue(name, out long m) ? m : 0;
}
