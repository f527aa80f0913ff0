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
        catch (Exception ex) when (InFlags(ex) is { } line)
        {
            if (Environment.GetEnvironmentVariable("LOGITSTORE_TRACE") == "1") Console.Error.WriteLine(ex);
            Fail($"error: {line}");
            return BadInput;
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

    /// <summary>The library names settings in its own words; the command line names the flags that set them.</summary>
    private static readonly Dictionary<string, string> FlagOf = new()
    {
        ["tokens"] = "--tokens", ["vocab_size"] = "--vocab", ["sequence_length"] = "--seq-len", ["stream"] = "--from-stream",
        ["part"] = "--part", ["ids"] = "--ids", ["values"] = "--values", ["method"] = "--method", ["device"] = "--device",
        ["text_field"] = "--text-field", ["recorded"] = "--recorded", ["teacher"] = "--teacher", ["width"] = "--width",
        ["out"] = "--out", ["record_phases"] = "--record-phases", ["entries"] = "--k", ["corpus_tokens"] = "--corpus-tokens",
    };

    /// <summary>A library exception that names a setting or a missing step, told in the command line's flags.</summary>
    private static string? InFlags(Exception ex) => ex switch
    {
        SettingException s => $"{(FlagOf.TryGetValue(s.Setting, out var flag) ? flag : s.Setting)} {s.Detail}",
        StoreExistsException e => $"{e.Directory} already holds a store: use --resume to finish it or --force to replace it",
        StoreIncompleteException e => $"{e.Directory} is not complete: finish it with pack --resume first",
        PartRequiredException e =>
            $"{e.Stream}: the stream starts at sequence {e.FirstSequence}: it is a part; say which with --part i/N or --part auto",
        ReferenceRequiredException e =>
            $"this store's source ('{e.SourceKind}') cannot be regenerated here: give --reference STORE " +
            "(the same sequences packed with --values f32, or --method full)",
        _ => null,
    };

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
