using System.Text.Json;

namespace LogitStore.Format;

/// <summary>
/// Where each value of <c>manifest.json</c> stands, by its path (<c>"shards/1/bytes"</c>), so that a validation error names
/// the first byte of the value at fault (spec 7). It also notes what the structural rules of spec 7 need: the first
/// repeated member name of any object, and the top-level object's last member.
/// </summary>
internal sealed class ManifestLocator
{
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);

    /// <summary>One value: the offset of its first byte, its length in the file (scalars only), and its token type.</summary>
    public readonly record struct Value(long Offset, int Length, JsonTokenType Type);

    public ManifestLocator(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        // One frame per open object or array: its path, its member names so far (objects) or its next index (arrays).
        var frames = new Stack<(string Path, HashSet<string>? Names, int Next)>();
        string? pending = null;   // the path of the value a property name announced
        try
        {
            while (reader.Read())
            {
                var type = reader.TokenType;
                if (type is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    frames.Pop();
                    continue;
                }
                if (type == JsonTokenType.PropertyName)
                {
                    var (path, names, next) = frames.Peek();
                    string name = reader.GetString()!;
                    pending = path.Length == 0 ? name : $"{path}/{name}";
                    if (frames.Count == 1) LastMember = name;
                    if (!names!.Add(name)) Repeated ??= pending;
                    continue;
                }
                string at;
                if (pending is not null) (at, pending) = (pending, null);
                else if (frames.Count == 0) at = "";
                else
                {
                    var (path, names, next) = frames.Pop();
                    frames.Push((path, names, next + 1));
                    at = path.Length == 0 ? $"{next}" : $"{path}/{next}";
                }
                bool scalar = type is not (JsonTokenType.StartObject or JsonTokenType.StartArray);
                var value = new Value(reader.TokenStartIndex, scalar ? (int)(reader.BytesConsumed - reader.TokenStartIndex) : 0, type);
                // A repeated member keeps its first value here; the repetition itself is an error (spec 7).
                if (!_values.TryAdd(at, value) && Repeated == at && RepeatedValue == 0) RepeatedValue = value.Offset;
                if (type == JsonTokenType.StartObject) frames.Push((at, new HashSet<string>(StringComparer.Ordinal), 0));
                else if (type == JsonTokenType.StartArray) frames.Push((at, null, 0));
            }
            WellFormed = true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // The offsets found so far stand; the deserializer reports the syntax error.
        }
    }

    /// <summary>True when the whole file read as one JSON value (otherwise the deserializer names the syntax error).</summary>
    public bool WellFormed { get; }

    /// <summary>The path of the first member whose name its object already had (names compared unescaped), or null.</summary>
    public string? Repeated { get; }

    /// <summary>Where the repeated member's second value starts.</summary>
    public long RepeatedValue { get; private set; }

    /// <summary>The name of the top-level object's last member.</summary>
    public string? LastMember { get; private set; }

    /// <summary>The value at <paramref name="path"/> (its first occurrence), if there is one.</summary>
    public Value? At(string path) => _values.TryGetValue(path, out var v) ? v : null;

    /// <summary>
    /// Where the value of top-level member <paramref name="name"/> starts (its opening quote for a string); −1 when absent.
    /// </summary>
    public long ValueOf(string name) => _values.TryGetValue(name, out var v) ? v.Offset : -1;

    /// <summary>
    /// Where the value of member <paramref name="name"/> (or of its element <paramref name="index"/>) starts; 0 when it is
    /// absent (the offset of the top-level object that lacks it, as a writer writes it).
    /// </summary>
    public long Of(string name, int index = -1) =>
        index >= 0 && _values.TryGetValue($"{name}/{index}", out var e) ? e.Offset
        : _values.TryGetValue(name, out var m) ? m.Offset : 0;

    /// <summary>Every path located, with its value (scalars carry their length, so their text can be read back).</summary>
    public IEnumerable<KeyValuePair<string, Value>> Values => _values;
}
