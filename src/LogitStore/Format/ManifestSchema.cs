using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace LogitStore.Format;

/// <summary>
/// The manifest's syntax rules that come before its meaning (spec 7, "Rules a reader enforces"): valid UTF-8, no member
/// name twice in one object, <c>manifest_xxh3</c> last, and the JSON type and range of every member a reader reads.
/// </summary>
internal static class ManifestSchema
{
    private enum Kind { String, Object, Array, Integer, Number }

    /// <summary>What a member holds: its JSON type, and for numbers the closed range of their value.</summary>
    private readonly record struct Rule(Kind Kind, decimal Min = 0, decimal Max = 0, bool MinExclusive = false, bool Binary32 = false);

    /// <summary>Largest integer that every binary64 JSON reader reads exactly (2^53 − 1).</summary>
    private const decimal Safe = 9_007_199_254_740_991m;

    private static readonly Rule Str = new(Kind.String), Obj = new(Kind.Object), Arr = new(Kind.Array);
    private static readonly Rule Count = new(Kind.Integer, 0, Safe);
    private static readonly Rule U16 = new(Kind.Integer, 0, ushort.MaxValue);
    private static readonly Rule U32 = new(Kind.Integer, 0, uint.MaxValue);
    private static readonly Rule NonNegativeI32 = new(Kind.Integer, 0, int.MaxValue);

    /// <summary>Every member a reader reads, by path; <c>*</c> stands for an array index. Spec 7 gives the same table.</summary>
    private static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        ["format"] = Str, ["format_version"] = Obj, ["format_version/major"] = U16, ["format_version/minor"] = U16,
        ["store_id"] = Str, ["status"] = Str, ["vocab_size"] = U32,
        ["tokenizer"] = Obj, ["tokenizer/name"] = Str, ["tokenizer/vocab_hash"] = Str,
        ["teacher"] = Obj, ["source"] = Obj,
        ["processing"] = Obj, ["processing/method"] = Str,
        ["processing/temperature"] = new(Kind.Number, 0, decimal.MaxValue, MinExclusive: true, Binary32: true),
        ["processing/top_p"] = new(Kind.Number, 0, 1, Binary32: true), ["processing/top_k"] = NonNegativeI32,
        ["processing/draws"] = NonNegativeI32, ["processing/seed"] = new(Kind.Integer, 0, ulong.MaxValue),
        ["codecs"] = Obj, ["codecs/tokens"] = Str, ["codecs/ids"] = Str, ["codecs/values"] = Str,
        ["codecs/ids_dictionary"] = Str, ["codecs/values_dictionary"] = Str,
        ["codecs/value_log_range"] = new(Kind.Number, 0, decimal.MaxValue),
        ["codecs/zstd_level"] = new(Kind.Integer, int.MinValue, int.MaxValue),
        ["codecs/sequences_per_block"] = new(Kind.Integer, 1, int.MaxValue), ["codecs/shard_target_bytes"] = Count,
        ["codecs/mvq_beam"] = NonNegativeI32, ["codecs/dictionary_sample"] = NonNegativeI32,
        ["partition"] = Obj, ["partition/index"] = NonNegativeI32, ["partition/count"] = NonNegativeI32,
        ["partition/first_sequence"] = Count, ["partition/sequence_count"] = Count,
        ["fingerprint"] = Obj, ["fingerprint/teacher"] = Str, ["fingerprint/tokenizer"] = Str, ["fingerprint/corpus"] = Str,
        ["fingerprint/processing"] = Str, ["fingerprint/codecs"] = Str, ["fingerprint/content"] = Str,
        ["dictionaries"] = Arr, ["dictionaries/*"] = Obj, ["dictionaries/*/file"] = Str, ["dictionaries/*/kind"] = Str,
        ["dictionaries/*/ref"] = Str, ["dictionaries/*/bytes"] = Count, ["dictionaries/*/xxh3"] = Str,
        ["shards"] = Arr, ["shards/*"] = Obj, ["shards/*/file"] = Str, ["shards/*/pack_id"] = Str,
        ["shards/*/first_sequence"] = Count, ["shards/*/sequences"] = Count, ["shards/*/positions"] = Count,
        ["shards/*/entries"] = Count, ["shards/*/blocks"] = U32, ["shards/*/bytes"] = Count, ["shards/*/xxh3"] = Str,
        ["totals"] = Obj, ["totals/sequences"] = Count, ["totals/positions"] = Count, ["totals/entries"] = Count,
        ["totals/bytes"] = Count,
        ["manifest_xxh3"] = Str,
    };

    /// <summary>
    /// The offset of the first byte that is not valid UTF-8, or −1 (the JSON reader checks only what it decodes).
    /// </summary>
    public static long FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[1024];
        long done = 0;
        while (!bytes.IsEmpty)
        {
            var status = Utf8.ToUtf16(bytes, chars, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            if (status is System.Buffers.OperationStatus.InvalidData or System.Buffers.OperationStatus.NeedMoreData)
                return done + read;
            done += read;
            bytes = bytes[read..];
        }
        return -1;
    }

    /// <summary>Throws, naming the value at fault, when the located manifest breaks a rule of this schema.</summary>
    public static void Check(string path, byte[] bytes, ManifestLocator at)
    {
        if (at.Repeated is { } repeated)
            throw new StoreCorruptException(path, at.RepeatedValue, $"member '{repeated}' occurs twice in its object");
        if (at.ValueOf("manifest_xxh3") >= 0 && at.LastMember != "manifest_xxh3")
            throw new StoreCorruptException(
                path, at.ValueOf("manifest_xxh3"), $"'manifest_xxh3' must be the last member ('{at.LastMember}' follows it)");
        foreach (var (where, value) in at.Values)
        {
            if (!Rules.TryGetValue(Pattern(where), out var rule)) continue;
            if (Problem(rule, value, bytes) is { } problem)
                throw new StoreCorruptException(path, value.Offset, $"'{where}' {problem}");
        }
    }

    /// <summary>The rule's key for a path: array indexes (below <c>shards</c> and <c>dictionaries</c>) become <c>*</c>.</summary>
    private static string Pattern(string path)
    {
        var parts = path.Split('/');
        if (parts.Length > 1 && parts[0] is "shards" or "dictionaries" && parts[1].All(char.IsAsciiDigit)) parts[1] = "*";
        return string.Join('/', parts);
    }

    private static string? Problem(Rule rule, ManifestLocator.Value value, byte[] bytes)
    {
        var type = value.Type;
        switch (rule.Kind)
        {
            case Kind.String: return type == JsonTokenType.String ? null : $"must be a string, not {Describe(type)}";
            case Kind.Object: return type == JsonTokenType.StartObject ? null : $"must be an object, not {Describe(type)}";
            case Kind.Array: return type == JsonTokenType.StartArray ? null : $"must be an array, not {Describe(type)}";
        }
        if (type != JsonTokenType.Number) return $"must be a number, not {Describe(type)}";
        string text = Encoding.ASCII.GetString(bytes, (int)value.Offset, value.Length);
        if (rule.Kind == Kind.Integer)
        {
            // Integers are written as digits alone: no fraction, no exponent (a count is never 1.0 or 1e3).
            if (text.Any(c => c is '.' or 'e' or 'E'))
                return $"must be an integer written without fraction or exponent, not {text}";
            if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out decimal n)
                || n < rule.Min || n > rule.Max)
                return $"is {text}, outside [{rule.Min}, {rule.Max}]";
            return null;
        }
        double d = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        bool below = rule.MinExclusive ? d <= (double)rule.Min : d < (double)rule.Min;
        if (!double.IsFinite(d) || (rule.Binary32 && !float.IsFinite((float)d)) || below || d > (double)rule.Max)
            return $"is {text}, outside {(rule.MinExclusive ? "(" : "[")}{rule.Min}, " +
                $"{(rule.Max == decimal.MaxValue ? "the largest finite number" : rule.Max.ToString(CultureInfo.InvariantCulture))}]";
        return null;
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };
}
