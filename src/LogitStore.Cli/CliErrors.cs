using LogitStore.Format;
using Spectre.Console;

namespace LogitStore.Cli;

/// <summary>
/// Turns library exceptions into one line and an exit code: 2 for a corrupt store or stream, 1 for bad input, 130 when
/// the command was interrupted (Ctrl-C or SIGTERM) before it finished.
/// </summary>
internal static class CliErrors
{
    public const int Corrupt = 2;
    public const int BadInput = 1;
    public const int Interrupted = 130;

    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (StoreCorruptException ex)
        {
            Fail($"corrupt: {ex.Message}");
            return Corrupt;
        }
        catch (OperationCanceledException)
        {
            Fail("interrupted: nothing after the last commit was kept (a partial store resumes with --resume)");
            return Interrupted;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or FormatException
            or UnauthorizedAccessException)
        {
            Fail($"error: {ex.Message}");
            return BadInput;
        }
    }

    public static void Fail(string line) => Console.Error.WriteLine($"logitstore: {line}");

    public static string Escape(string s) => Markup.Escape(s);
}
