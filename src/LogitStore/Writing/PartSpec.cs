namespace LogitStore.Writing;

/// <summary>Part <c>Index</c> of <c>Count</c> in a partitioned pack: a contiguous slice of whole blocks.</summary>
public readonly record struct PartSpec(int Index, int Count)
{
    /// <summary>What <c>--part auto</c> reads, in this order: Slurm arrays, Kubernetes Indexed Jobs, torchrun.</summary>
    public const string AutoHelp =
        "auto: SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, JOB_COMPLETION_INDEX of auto/N, " +
        "or RANK of WORLD_SIZE";

    /// <summary>
    /// Parses <c>i/N</c>, <c>auto</c> or <c>auto/N</c> (N for a scheduler that gives only an index); an automatic part says
    /// in <c>From</c> which variables it came from. <paramref name="environment"/> reads a variable (null: unset).
    /// </summary>
    public static (PartSpec Part, string? From) Parse(string text, Func<string, string?> environment)
    {
        if (text != "auto" && !text.StartsWith("auto/", StringComparison.Ordinal)) return (Parse(text), null);
        int? count = null;
        if (text.Length > 5)
            count = int.TryParse(text[5..], out int n) && n >= 1
                ? n
                : throw new ArgumentException($"--part auto/N needs N >= 1, got '{text}'");
        int Read(string name) =>
            int.TryParse(environment(name), out int v)
                ? v
                : throw new ArgumentException($"--part auto: {name}='{environment(name)}' is not a number");
        (int Index, int Count, string From) found;
        if (environment("SLURM_ARRAY_TASK_ID") is not null)
        {
            int min = environment("SLURM_ARRAY_TASK_MIN") is null ? 0 : Read("SLURM_ARRAY_TASK_MIN");
            found = (Read("SLURM_ARRAY_TASK_ID") - min, count ?? Read("SLURM_ARRAY_TASK_COUNT"),
                $"SLURM_ARRAY_TASK_ID={environment("SLURM_ARRAY_TASK_ID")}" +
                (min != 0 ? $" - SLURM_ARRAY_TASK_MIN={min}" : "") +
                (count is null ? $", SLURM_ARRAY_TASK_COUNT={environment("SLURM_ARRAY_TASK_COUNT")}" : $", N={count} from --part"));
        }
        else if (environment("JOB_COMPLETION_INDEX") is not null)
            found = (Read("JOB_COMPLETION_INDEX"),
                count ?? throw new ArgumentException(
                    "--part auto: JOB_COMPLETION_INDEX gives no count; write --part auto/N (N = completions)"),
                $"JOB_COMPLETION_INDEX={environment("JOB_COMPLETION_INDEX")}, N={count} from --part");
        else if (environment("RANK") is not null)
            found = (Read("RANK"), count ?? Read("WORLD_SIZE"),
                $"RANK={environment("RANK")}" +
                (count is null ? $", WORLD_SIZE={environment("WORLD_SIZE")}" : $", N={count} from --part"));
        else
            throw new ArgumentException(
                "--part auto found none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or RANK; give --part i/N");
        if (found.Count < 1 || found.Index < 0 || found.Index >= found.Count)
            throw new ArgumentException($"--part auto: part {found.Index} of {found.Count} from {found.From} is not 0 <= i < N");
        return (new PartSpec(found.Index, found.Count), found.From);
    }

    public static PartSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int i) || !int.TryParse(parts[1], out int n) || n < 1 || i < 0 || i >= n)
            throw new ArgumentException($"--part takes i/N with 0 <= i < N, got '{text}'");
        return new PartSpec(i, n);
    }

    /// <summary>The sequences of this part: block-aligned, so that merged parts keep every block but the last full.</summary>
    public (ulong First, ulong Count) Slice(ulong totalSequences, int sequencesPerBlock)
    {
        ulong spb = (ulong)sequencesPerBlock;
        ulong blocks = (totalSequences + spb - 1) / spb;
        ulong b0 = blocks * (ulong)Index / (ulong)Count, b1 = blocks * (ulong)(Index + 1) / (ulong)Count;
        ulong first = b0 * spb, end = Math.Min(b1 * spb, totalSequences);
        return (first, end > first ? end - first : 0);
    }

    public override string ToString() => $"{Index}/{Count}";
}
