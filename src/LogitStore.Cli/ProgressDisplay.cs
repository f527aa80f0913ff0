using System.Diagnostics;
using Spectre.Console;

namespace LogitStore.Cli;

/// <summary>A progress bar with tokens/s for anything that polls a (done, total) pair.</summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(string label, Func<(long Done, long Total)> poll, Task<T> work, string unit = "tokens")
    {
        var clock = Stopwatch.StartNew();
        if (Console.IsErrorRedirected || Console.IsOutputRedirected)
        {
            var result = await work;
            var (d, _) = poll();
            Console.Error.WriteLine(
                $"{label}: {d:N0} {unit} in {clock.Elapsed.TotalSeconds:F2} s " +
                $"({d / Math.Max(1e-9, clock.Elapsed.TotalSeconds):N0} {unit}/s)");
            return result;
        }
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(),
                new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label);
                while (!work.IsCompleted)
                {
                    Update(task, poll(), clock, label, unit);
                    await Task.WhenAny(work, Task.Delay(200));
                }
                Update(task, poll(), clock, label, unit);
            });
        return await work;
    }

    private static void Update(ProgressTask task, (long Done, long Total) p, Stopwatch clock, string label, string unit)
    {
        task.MaxValue = Math.Max(1, p.Total);
        task.Value = Math.Min(p.Done, task.MaxValue);
        task.Description = $"{label} {p.Done / Math.Max(1e-9, clock.Elapsed.TotalSeconds):N0} {unit}/s";
    }
}
