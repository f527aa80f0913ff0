namespace LogitStore;

/// <summary>
/// Names of enum settings as options, manifests and reports spell them: the member name in lower-case words joined by
/// '-' (<c>HeldOut</c> is "held-out"). Parsed once, where the text comes in.
/// </summary>
public static class Choice
{
    public static string Name<T>(T value) where T : struct, Enum =>
        string.Concat(value.ToString().Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary>All names, for help texts and errors: "cosine | wsd".</summary>
    public static string Names<T>() where T : struct, Enum => string.Join(" | ", Enum.GetValues<T>().Select(Name));

    public static T Parse<T>(string text, string what) where T : struct, Enum
    {
        foreach (var value in Enum.GetValues<T>())
            if (Name(value) == text) return value;
        throw new ArgumentException($"{what}: '{text}' is not one of {Names<T>()}");
    }
}
