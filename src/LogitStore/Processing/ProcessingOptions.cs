namespace LogitStore.Processing;

/// <summary>How a teacher distribution is truncated before it is stored (spec section 6).</summary>
public enum TruncationMethod
{
    TopK,
    TopP,
    TopPK,
    Sampled,
    Full,
}

/// <summary>Logits-processing parameters; defaults are the pre-training-distillation paper's best setting (top-0.95-50).</summary>
public sealed record ProcessingOptions
{
    /// <summary>How far above 1 the mass of one position's supplied log-probabilities may be (rounding of f32 values).</summary>
    public const double SuppliedMassTolerance = 1e-3;

    public TruncationMethod Method { get; init; } = TruncationMethod.TopPK;
    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 0.95f;
    public int TopK { get; init; } = 50;
    public int Draws { get; init; } = 50;
    public ulong Seed { get; init; } = 1;

    public static string MethodName(TruncationMethod m) => m switch
    {
        TruncationMethod.TopK => "top-k",
        TruncationMethod.TopP => "top-p",
        TruncationMethod.TopPK => "top-p-k",
        TruncationMethod.Sampled => "sampled",
        TruncationMethod.Full => "full",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    /// <summary>The setting in words, e.g. "top-p-k (p = 0.95, k = 50, τ = 1)".</summary>
    public static string Describe(ProcessingOptions o)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string detail = o.Method switch
        {
            TruncationMethod.TopK => string.Format(c, "k = {0}", o.TopK),
            TruncationMethod.TopP => string.Format(c, "p = {0}", o.TopP),
            TruncationMethod.TopPK => string.Format(c, "p = {0}, k = {1}", o.TopP, o.TopK),
            TruncationMethod.Sampled => string.Format(c, "{0} draws", o.Draws),
            _ => "",
        };
        return string.Format(c, "{0} ({1}{2}τ = {3})", MethodName(o.Method), detail, detail.Length > 0 ? ", " : "", o.Temperature);
    }

    public static TruncationMethod ParseMethod(string name) => name switch
    {
        "top-k" => TruncationMethod.TopK,
        "top-p" => TruncationMethod.TopP,
        "top-p-k" => TruncationMethod.TopPK,
        "sampled" => TruncationMethod.Sampled,
        "full" => TruncationMethod.Full,
        _ => throw new ArgumentException($"unknown truncation method '{name}' (top-k, top-p, top-p-k, sampled, full)"),
    };

    public void Validate()
    {
        if (!(Temperature > 0) || float.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be > 0, got {Temperature}");
        if (Method is TruncationMethod.TopP or TruncationMethod.TopPK && !(TopP > 0 && TopP <= 1))
            throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (Method is TruncationMethod.TopK or TruncationMethod.TopPK && (TopK < 1 || TopK > ushort.MaxValue))
            throw new ArgumentException($"top-k must be in [1, 65535], got {TopK}");
        if (Method is TruncationMethod.Sampled && (Draws < 1 || Draws > ushort.MaxValue))
            throw new ArgumentException($"draws must be in [1, 65535], got {Draws}");
    }
}
