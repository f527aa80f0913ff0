using System.CommandLine;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Reading;
using Spectre.Console;

namespace LogitStore.Cli;

/// <summary><c>logitstore inspect</c>: what a store holds and where its bytes go.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var store = new Argument<string>("store") { Description = "store directory" };
        var json = new Option<bool>("--json") { Description = "print JSON instead of tables" };
        var cmd = new Command("inspect", "show tokens, shards, codecs and bytes/token per column") { store, json };
        cmd.SetAction(r =>
        {
            var s = StoreInspector.Inspect(r.GetValue(store)!);
            var m = s.Manifest;
            if (r.GetValue(json))
            {
                var o = new
                {
                    store_id = m.StoreId, status = m.Status, vocab_size = m.VocabSize, tokenizer = m.Tokenizer, teacher = m.Teacher,
                    processing = m.Processing, codecs = m.Codecs, fingerprint = m.Fingerprint, totals = m.Totals, shards = m.Shards.Count,
                    file_bytes = s.FileBytes, bytes_per_token = s.BytesPerToken, mean_kept = s.MeanKept, overhead_bytes = s.OverheadBytes,
                    dictionary_bytes = s.DictionaryBytes, dictionaries = m.Dictionaries,
                    columns = s.Columns.Select(c => new
                    {
                        kind = c.Kind.ToString(), codecs = c.Codecs, stored_bytes = c.StoredBytes, decoded_bytes = c.DecodedBytes,
                        bytes_per_token = c.BytesPerToken,
                    }),
                };
                Console.WriteLine(JsonSerializer.Serialize(o, Manifest.JsonOptions));
                return 0;
            }
            var info = new Table().AddColumns("property", "value").HideHeaders();
            info.AddRow("status", m.Status);
            info.AddRow("format", $"{m.FormatVersion.Major}.{m.FormatVersion.Minor}");
            info.AddRow("vocab", $"{m.VocabSize:N0} ({CliErrors.Escape(m.Tokenizer.Name)})");
            info.AddRow("teacher", CliErrors.Escape(m.Teacher["id"]?.ToString() ?? "?"));
            var p = m.Processing;
            info.AddRow("processing", $"{p.Method} τ={p.Temperature} p={p.TopP} k={p.TopK} draws={p.Draws}");
            info.AddRow(
                "codecs",
                $"tokens={m.Codecs.Tokens} ids={m.Codecs.Ids} values={m.Codecs.Values} zstd={m.Codecs.ZstdLevel} " +
                $"seqs/block={m.Codecs.SequencesPerBlock}");
            info.AddRow(
                "fingerprint",
                CliErrors.Escape(
                    StoreFingerprint.Recorded(m)?.ToString() ?? $"none (format {m.FormatVersion.Major}.{m.FormatVersion.Minor})"));
            info.AddRow("sequences", $"{m.Totals.Sequences:N0}");
            info.AddRow("tokens", $"{m.Totals.Positions:N0}");
            info.AddRow("kept entries", $"{m.Totals.Entries:N0} (mean {s.MeanKept:F2} per token)");
            info.AddRow("shards", $"{m.Shards.Count} ({s.FileBytes:N0} bytes)");
            info.AddRow("bytes/token", $"{s.BytesPerToken:F3}");
            AnsiConsole.Write(info);
            var cols = new Table().AddColumns("column", "codec", "stored bytes", "decoded bytes", "ratio", "bytes/token");
            foreach (var c in s.Columns)
                cols.AddRow(
                    c.Kind.ToString(), c.Codecs, $"{c.StoredBytes:N0}", $"{c.DecodedBytes:N0}",
                    $"{(double)c.DecodedBytes / Math.Max(1, c.StoredBytes):F2}x", $"{c.BytesPerToken:F3}");
            cols.AddRow(
                "(headers, index, padding)", "", $"{s.OverheadBytes:N0}", "", "",
                $"{s.OverheadBytes / Math.Max(1.0, m.Totals.Positions):F3}");
            foreach (var d in m.Dictionaries)
                cols.AddRow($"dictionary {d.Kind}", d.Ref, $"{d.Bytes:N0}", "", "", $"{d.Bytes / Math.Max(1.0, m.Totals.Positions):F3}");
            AnsiConsole.Write(cols);
            return 0;
        });
        return cmd;
    }
}
