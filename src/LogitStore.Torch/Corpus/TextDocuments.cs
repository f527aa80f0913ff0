using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace LogitStore.Torch.Corpus;

/// <summary>One document of a corpus: a stable name (for the train/held-out split) and its text.</summary>
public sealed record TextDocument(string Name, string Text);

/// <summary>
/// Readers for the corpus formats <c>--corpus</c> takes: a Brown corpus directory, JSON lines, Parquet, plain text.
/// </summary>
public static class TextDocuments
{
    /// <summary>The member (JSON lines) or column (Parquet) that holds a document's text, unless told otherwise.</summary>
    public const string DefaultTextField = "text";

    /// <summary>
    /// Picks the reader from what <paramref name="path"/> is: a directory of Brown files, *.jsonl / *.json / *.ndjson,
    /// *.parquet, or any other text file (documents separated by blank lines).
    /// </summary>
    /// <param name="textField">JSON lines: the string member holding the text; Parquet: the string column.</param>
    public static IEnumerable<TextDocument> Read(string path, string textField = DefaultTextField)
    {
        if (Directory.Exists(path)) return ReadBrown(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: no such corpus file or directory (run tools/fetch-corpus.sh for Brown)");
        // *.json too: Hugging Face datasets' to_json writes JSON lines under that name.
        if (HasExtension(path, ".jsonl") || HasExtension(path, ".json") || HasExtension(path, ".ndjson"))
            return ReadJsonLines(path, textField);
        if (HasExtension(path, ".parquet")) return ReadParquet(path, textField);
        if (textField != DefaultTextField)
            throw new SettingException("text_field", $"names a member of JSON lines or a Parquet column; {path} is plain text");
        return ReadPlainText(path);
    }

    private static bool HasExtension(string path, string extension) => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The Brown corpus in form C (files ca01 … cr09, tokens as word/tag): tags stripped, punctuation reattached,
    /// `` and '' turned into quotes, one document per file, paragraphs kept.
    /// </summary>
    public static IEnumerable<TextDocument> ReadBrown(string directory)
    {
        var files = Directory.GetFiles(directory)
            .Where(f => IsBrownFile(Path.GetFileName(f)))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new FileNotFoundException($"{directory}: no Brown corpus files (c[a-r]NN) found");
        foreach (var f in files) yield return new TextDocument(Path.GetFileName(f), BrownText(File.ReadAllText(f)));
    }

    private static bool IsBrownFile(string name) =>
        name.Length == 4 && name[0] == 'c' && name[1] is >= 'a' and <= 'r' && char.IsAsciiDigit(name[2]) && char.IsAsciiDigit(name[3]);

    /// <summary>Brown form C to running text.</summary>
    public static string BrownText(string tagged)
    {
        var sb = new StringBuilder();
        foreach (var rawLine in tagged.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0) continue;
            if (sb.Length > 0) sb.Append('\n');
            bool first = true, glueNext = false;
            foreach (var item in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                int slash = item.LastIndexOf('/');
                string word = slash > 0 ? item[..slash] : item;
                word = word switch { "``" => "\"", "''" => "\"", _ => word };
                bool attachLeft = word is "." or "," or ";" or ":" or "?" or "!" or ")" or "'s" or "n't"
                    || (word == "\"" && !glueNext && !first && sb.Length > 0 && QuoteCloses(sb));
                if (!first && !attachLeft && !glueNext) sb.Append(' ');
                sb.Append(word);
                glueNext = word == "(" || (word == "\"" && !attachLeft);
                first = false;
            }
        }
        return sb.ToString();
    }

    /// <summary>True when the quotes seen so far on this text are unbalanced, so the next one closes.</summary>
    private static bool QuoteCloses(StringBuilder sb)
    {
        int count = 0;
        for (int i = sb.Length - 1; i >= 0 && sb[i] != '\n'; i--) if (sb[i] == '"') count++;
        return count % 2 == 1;
    }

    /// <summary>One document per line: <c>{"text": "..."}</c> (or the member <paramref name="textField"/>); others are ignored.</summary>
    public static IEnumerable<TextDocument> ReadJsonLines(string path, string textField = DefaultTextField)
    {
        int lineNo = 0;
        long offset = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            long at = offset;
            offset += Encoding.UTF8.GetByteCount(line) + 1;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text;
            try
            {
                using var doc = JsonDocument.Parse(line);
                text = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(textField, out var t)
                    && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            }
            catch (JsonException ex) { throw new InvalidDataException($"{path} @ offset {at} (line {lineNo}): not JSON: {ex.Message}"); }
            if (text is null)
                throw new InvalidDataException($"{path} @ offset {at} (line {lineNo}): no string member \"{textField}\"");
            yield return new TextDocument($"{Path.GetFileName(path)}:{lineNo}", text);
        }
    }

    /// <summary>
    /// One document per row of the string column <paramref name="textField"/>, row group by row group (one group in
    /// memory at a time); null rows are skipped. Documents are named file:row.
    /// </summary>
    public static IEnumerable<TextDocument> ReadParquet(string path, string textField = DefaultTextField)
    {
        using var stream = File.OpenRead(path);
        ParquetReader reader;
        try { reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult(); }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a Parquet file Parquet.Net reads: {ex.Message}");
        }
        try
        {
            var fields = reader.Schema.GetDataFields();
            var field = fields.FirstOrDefault(f => f.Path.ToString() == textField)
                ?? throw new InvalidDataException(
                    $"{path}: no column '{textField}' (columns: {string.Join(", ", fields.Select(f => f.Path.ToString()))})");
            // Parquet.Net types a UTF-8 column as ReadOnlyMemory<char> (or string, by its options).
            if ((field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>)) || field.MaxRepetitionLevel > 0)
                throw new InvalidDataException($"{path}: column '{textField}' is not a column of strings");
            long row = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                foreach (var text in ReadStrings(reader, field, g))
                {
                    if (text is not null) yield return new TextDocument($"{Path.GetFileName(path)}:{row}", text);
                    row++;
                }
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>One row group's strings, null rows as null.</summary>
    private static string?[] ReadStrings(ParquetReader reader, DataField field, int g)
    {
        using var group = reader.OpenRowGroupReader(g);
        int rows = checked((int)group.RowCount);
        var values = new string[rows];
        var definitions = new int[rows];
        group.ReadAsync(field, values, field.IsNullable ? definitions : null).GetAwaiter().GetResult();
        return values;
    }

    /// <summary>Documents separated by blank lines.</summary>
    public static IEnumerable<TextDocument> ReadPlainText(string path)
    {
        int n = 0;
        foreach (var block in File.ReadAllText(path).Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var text = block.Trim();
            if (text.Length > 0) yield return new TextDocument($"{Path.GetFileName(path)}:{n++}", text);
        }
    }
}
