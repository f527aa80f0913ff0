using LogitStore.Writing;

namespace LogitStore.Hosting;

/// <summary>
/// Where a job runs, read at the edge of the program from the scheduler's variables: the part of a partitioned pack a
/// Slurm array task, a Kubernetes Indexed Job completion or a torchrun rank writes. The library below takes a
/// <see cref="PartSpec"/> and never reads the environment.
/// </summary>
public static class SchedulerPartition
{
    /// <summary>What an automatic part reads, in this order: Slurm arrays, Kubernetes Indexed Jobs, torchrun.</summary>
    public const string AutoHelp =
        "auto: SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, JOB_COMPLETION_INDEX of auto/N, " +
        "or RANK of WORLD_SIZE";

    /// <summary>
    /// Parses <c>i/N</c>, <c>auto</c> or <c>auto/N</c> (N for a scheduler that gives only an index); an automatic part says
    /// in <c>From</c> which variables it came from. <paramref name="environment"/> reads a variable (null: unset).
    /// </summary>
    public static (PartSpec Part, string? From) Parse(string text, Func<string, string?> environment)
    {
        if (text != "auto" && !text.StartsWith("auto/", StringComparison.Ordinal)) return (PartSpec.Parse(text), null);
        int? count = null;
        if (text.Length > 5)
            count = int.TryParse(text[5..], out int n) && n >= 1
                ? n
                : throw new SettingException("part", $"auto/N needs N >= 1, got '{text}'");
        int Read(string name) =>
            int.TryParse(environment(name), out int v)
                ? v
                : throw new SettingException("part", $"auto: {name}='{environment(name)}' is not a number");
        (int Index, int Count, string From) found;
        if (environment("SLURM_ARRAY_TASK_ID") is not null)
        {
            int min = environment("SLURM_ARRAY_TASK_MIN") is null ? 0 : Read("SLURM_ARRAY_TASK_MIN");
            found = (Read("SLURM_ARRAY_TASK_ID") - min, count ?? Read("SLURM_ARRAY_TASK_COUNT"),
                $"SLURM_ARRAY_TASK_ID={environment("SLURM_ARRAY_TASK_ID")}" +
                (min != 0 ? $" - SLURM_ARRAY_TASK_MIN={min}" : "") +
                (count is null ? $", SLURM_ARRAY_TASK_COUNT={environment("SLURM_ARRAY_TASK_COUNT")}" : $", N={count} given"));
        }
        else if (environment("JOB_COMPLETION_INDEX") is not null)
            found = (Read("JOB_COMPLETION_INDEX"),
                count ?? throw new SettingException(
                    "part", "auto: JOB_COMPLETION_INDEX gives no count; give auto/N (N = completions)"),
                $"JOB_COMPLETION_INDEX={environment("JOB_COMPLETION_INDEX")}, N={count} given");
        else if (environment("RANK") is not null)
            found = (Read("RANK"), count ?? Read("WORLD_SIZE"),
                $"RANK={environment("RANK")}" +
                (count is null ? $", WORLD_SIZE={environment("WORLD_SIZE")}" : $", N={count} given"));
        else
            throw new SettingException(
                "part", "auto found none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or RANK; give i/N");
        if (found.Count < 1 || found.Index < 0 || found.Index >= found.Count)
            throw new SettingException("part", $"auto: part {found.Index} of {found.Count} from {found.From} is not 0 <= i < N");
        return (new PartSpec(found.Index, found.Count), found.From);
    }
}
