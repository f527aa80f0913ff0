using System.CommandLine;
using System.Text.Json;
using LogitStore.Reading;

namespace LogitStore.Cli;

/// <summary><c>logitstore dump [--seq N]</c>: one sequence, or every sequence, as JSON.</summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        var store = new Argument<string>("store") { Description = "store directory" };
        var seq = new Option<ulong?>("--seq") { Description = "global sequence id (default: every sequence, as a JSON array)" };
        var cmd = new Command(
            "dump",
            "print sequences (tokens, kept ids and probabilities, residual mass) as JSON; numbers are exact (shortest round-trip)")
        {
            store, seq,
        };
        cmd.SetAction(r =>
        {
            // A damaged shard elsewhere does not stop the dump of an intact sequence; the damage is reported.
            using var reader = StoreReader.Open(r.GetValue(store)!, new StoreReaderOptions { OpenDamaged = true });
            foreach (var damage in reader.Damage) CliErrors.Fail($"damaged (other sequences stay readable): {damage.Message}");
            var scratch = new DecodedBlock();
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, NewLine = "\n" });
            if (r.GetValue(seq) is { } one) WriteSequence(w, reader.ReadSequence(one, scratch));
            else
            {
                w.WriteStartArray();
                ulong first = reader.Manifest.FirstSequence;
                for (ulong id = first; id < first + reader.SequenceCount; id++) WriteSequence(w, reader.ReadSequence(id, scratch));
                w.WriteEndArray();
            }
            w.Flush();
            stdout.WriteByte((byte)'\n');
            return 0;
        });
        return cmd;
    }

    private static void WriteSequence(Utf8JsonWriter w, SequenceView view)
    {
        w.WriteStartObject();
        w.WriteNumber("sequence", view.Id);
        w.WriteStartArray("tokens");
        foreach (int t in view.Tokens) w.WriteNumberValue(t);
        w.WriteEndArray();
        w.WriteStartArray("positions");
        for (int t = 0; t < view.Length; t++)
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            foreach (int id in view.IdsAt(t)) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteStartArray("probs");
            foreach (float p in view.ProbsAt(t)) w.WriteNumberValue(p);
            w.WriteEndArray();
            w.WriteNumber("residual", view.Residual[t]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
