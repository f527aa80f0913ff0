using System.Diagnostics;
using System.Text.Json;

namespace LogitStore.Tests.Torch.Corpus;

/// <summary>
/// The reference encoders the tokenizer tests compare against, none written by this project: transformers.js'
/// tokenizers under node for tokenizer.json files, Google's sentencepiece (Debian's python3-sentencepiece) for
/// tokenizer.model files. tools/fetch-tokenizers.sh brings them and the real tokenizer files on first use.
/// </summary>
internal static class TokenizerReference
{
    private static readonly Lazy<string> Fetched = new(() =>
    {
        string root = RepositoryRoot();
        Run("bash", [Path.Combine(root, "tools", "fetch-tokenizers.sh")], root);
        return Path.Combine(root, "data", "tokenizers");
    });

    private static string Here => Path.Combine(RepositoryRoot(), "tests", "LogitStore.Torch.Tests", "Corpus");

    /// <summary>data/tokenizers, fetched when missing.</summary>
    public static string TokenizersDirectory => Fetched.Value;

    /// <summary>A copy of data/tokenizers/<paramref name="name"/> that a test may change.</summary>
    public static string CopyOf(string name)
    {
        string dir = TestData.TempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(TokenizersDirectory, name), "*.json"))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>transformers.js' ids for each text: without special tokens (plain) and with them (BOS/EOS as it adds).</summary>
    public static List<(int[] Plain, int[] Special)> Node(string checkpoint, IReadOnlyList<string> texts)
    {
        string work = TestData.TempDir();
        string input = Path.Combine(work, "texts.json"), output = Path.Combine(work, "ids.json");
        File.WriteAllText(input, JsonSerializer.Serialize(texts));
        Run("node", [Path.Combine(Here, "reference-tokenize.mjs"), TokenizersDirectory, checkpoint, input, output], work);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(output));
        return doc.RootElement.EnumerateArray()
            .Select(e => (Ids(e.GetProperty("plain")), Ids(e.GetProperty("special"))))
            .ToList();
    }

    /// <summary>
    /// Trains a <paramref name="modelType"/> SentencePiece model on <paramref name="training"/> into a new checkpoint
    /// folder, and returns the folder and sentencepiece's ids for each text, alone and as Hugging Face's non-legacy
    /// LlamaTokenizer encodes it after a special token.
    /// </summary>
    public static (string Checkpoint, List<int[]> Ids, List<int[]> AfterToken) SentencePiece(
        string modelType, string training, IReadOnlyList<string> texts)
    {
        _ = TokenizersDirectory;
        string work = TestData.TempDir(), checkpoint = Path.Combine(work, "checkpoint");
        string corpus = Path.Combine(work, "training.txt");
        string input = Path.Combine(work, "texts.json"), output = Path.Combine(work, "ids.json");
        File.WriteAllText(corpus, training);
        File.WriteAllText(input, JsonSerializer.Serialize(texts));
        Run("/usr/bin/python3", [Path.Combine(Here, "sentencepiece-reference.py"), corpus, checkpoint, modelType, input, output], work);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(output));
        var results = doc.RootElement.EnumerateArray().ToList();
        return (checkpoint,
            results.Select(r => Ids(r.GetProperty("ids"))).ToList(),
            results.Select(r => Ids(r.GetProperty("after_token"))).ToList());
    }

    private static int[] Ids(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static void Run(string program, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr}{stdout.Result}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tools", "fetch-tokenizers.sh"))) return dir.FullName;
        throw new InvalidOperationException("tools/fetch-tokenizers.sh was not found above the test's directory");
    }
}
