using LogitStore.Torch.Corpus;
using Parquet.Serialization;

namespace LogitStore.Tests.Torch;

/// <summary>Corpora as people keep them: JSON lines with a chosen member, Parquet string columns, plain text.</summary>
public sealed class TextDocumentsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("logitstore-corpus-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void JsonLines_ReadTheChosenMember_AndNameTheLineOfABadOne()
    {
        var path = Path.Combine(_dir, "c.jsonl");
        File.WriteAllLines(path, ["{\"content\": \"first\", \"text\": 1}", "", "{\"content\": \"second ü\"}"]);
        Assert.Equal(["first", "second ü"], TextDocuments.Read(path, "content").Select(d => d.Text));
        var message = Assert.Throws<InvalidDataException>(() => TextDocuments.Read(path).ToList()).Message;
        Assert.Equal($"{path} @ offset 0 (line 1): no string member \"text\"", message);
        File.AppendAllText(path, "not json\n");
        Assert.Contains("(line 4): not JSON",
            Assert.Throws<InvalidDataException>(() => TextDocuments.Read(path, "content").ToList()).Message);
    }

    private sealed class Row
    {
        public int id { get; set; }
        public string? body { get; set; }
    }

    [Fact]
    public async Task Parquet_ReadsAStringColumn_AcrossRowGroups_SkippingNulls()
    {
        var path = Path.Combine(_dir, "c.parquet");
        Row[] first = [new Row { id = 0, body = "a" }, new Row { id = 1 }, new Row { id = 2, body = "b" }];
        await ParquetSerializer.SerializeAsync(first, path);
        await ParquetSerializer.SerializeAsync(
            new[] { new Row { id = 3, body = "c" } }, path, new Parquet.ParquetOptions { Append = true });
        var docs = TextDocuments.Read(path, "body").ToList();
        Assert.Equal(["a", "b", "c"], docs.Select(d => d.Text));
        Assert.Equal(["c.parquet:0", "c.parquet:2", "c.parquet:3"], docs.Select(d => d.Name));
        Assert.Contains("no column 'text' (columns: id, body)",
            Assert.Throws<InvalidDataException>(() => TextDocuments.Read(path).ToList()).Message);
        Assert.Contains("column 'id' is not a column of strings",
            Assert.Throws<InvalidDataException>(() => TextDocuments.Read(path, "id").ToList()).Message);
    }

    [Fact]
    public void PlainText_RefusesATextField()
    {
        var path = Path.Combine(_dir, "c.txt");
        File.WriteAllText(path, "one\n\ntwo\n");
        Assert.Equal(["one", "two"], TextDocuments.Read(path).Select(d => d.Text));
        Assert.Equal("text_field", Assert.Throws<SettingException>(() => TextDocuments.Read(path, "body")).Setting);
    }
}
