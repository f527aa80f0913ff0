using LogitStore.Format;
using Spectre.Console;

namespace LogitStore.Cli;

/// <summary>
/// Turns library exceptions into one line and an exit code: 2 for a corrupt store or stream, 1 for bad input, 130 when
/// the command was interrupted (Ctrl-C or SIGTERM) before it finished. <c>LOGITSTORE_TRACE=1</c> also prints the
/// exception with its stack trace.
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
            if (Environment.GetEnvironmentVariable("LOGITSTORE_TRACE") == "1") Console.Error.WriteLine(ex);
            Fail($"corrupt: {ex.Message}");
            return Corrupt;
        }
        catch (OperationCanceledException)
        {
            Fail("interrupted: nothing after the last commit was kept (a partial store resumes with --resume)");
            return Interrupted;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or InvalidDataException
            or FormatException or UnauthorizedAccessException)
        {
            if (Environment.GetEnvironmentVariable("LOGITSTORE_TRACE") == "1") Console.Error.WriteLine(ex);
            // The library's ArgumentExceptions name the .NET parameter; the user gave an option, which the message names.
            Fail($"error: {(ex is ArgumentException { ParamName: { } p } ? ex.Message.Replace($" (Parameter '{p}')", "") : ex.Message)}");
            return BadInput;
        }
    }

    /// <summary>Prints the parser's errors as one line each, in the words of the options rather than of .NET types.</summary>
    public static int ParseFailed(IEnumerable<string> errors)
    {
        foreach (string e in errors) Fail($"error: {Reword(e)} (see --help)");
        return BadInput;
    }

    private static string Reword(string error)
    {
        var m = System.Text.RegularExpressions.Regex.Match(
            error, "^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'");
        if (!m.Success) return error;
        string expected = m.Groups[3].Value switch
        {
            "System.UInt64" or "System.UInt32" => "a whole number >= 0",
            "System.Int32" or "System.Int64" => "a whole number",
            "System.Double" or "System.Single" => "a number",
            var t => $"a value of type {t}",
        };
        return $"{m.Groups[2].Value} takes {expected}, not '{m.Groups[1].Value}'";
    }

    public static void Fail(string line) => Console.Error.WriteLine($"logitstore: {line}");

    public static string Escape(string s) => Markup.Escape(s);
}
