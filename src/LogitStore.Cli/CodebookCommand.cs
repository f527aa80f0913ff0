using System.CommandLine;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore codebook train</c>: fit mvq codebooks on a store's positions and write a dictionary file.</summary>
internal static class CodebookCommand
{
    public static MvqCodebooks Load(string path) => MvqCodebooks.FromDictionary(DictionaryFile.Read(path), path);

    public static Command Create()
    {
        var from = new Option<string>("--from")
        {
            Description = "store to sample positions from (best one with lossless values: --values f32)",
            Required = true,
        };
        var sample = new Option<int>("--sample")
        {
            Description = "positions to train on",
            DefaultValueFactory = _ => new CodecOptions().DictionarySample,
        };
        var m = new Option<int>("--codebooks") { Description = "M, number of 256-entry codebooks (1-32)", DefaultValueFactory = _ => 8 };
        var outOpt = new Option<string>("--out") { Description = "codebook file to write (pass it to pack --codebook)", Required = true };
        var beam = new Option<int>("--beam")
        {
            Description = "beam width used to measure the codebooks on the sample",
            DefaultValueFactory = _ => Codecs.MvqValueCodec.DefaultBeam,
        };
        var train = new Command("train", "train M codebooks on the first positions of a store") { from, sample, m, outOpt, beam };
        train.SetAction(r =>
        {
            using var store = StoreReader.Open(r.GetValue(from)!);
            int want = r.GetValue(sample);
            var sequences = new List<SparseSequence>();
            long positions = 0;
            foreach (var block in store.ScanBlocks())
            {
                for (int i = 0; i < block.SequenceCount && positions < want; i++)
                {
                    var s = block.Sequence(i).ToSparseSequence();
                    sequences.Add(s);
                    positions += s.Length;
                }
                if (positions >= want) break;
            }
            var vectors = DictionaryTraining.Positions(sequences, want);
            var (books, report) = MvqTrainer.Train(vectors, new MvqTrainingOptions { Codebooks = r.GetValue(m) });
            DurableFile.WriteAtomic(r.GetValue(outOpt)!, books.FileBytes);
            var codes = new byte[books.M];
            int coded = 0, escaped = 0;
            double kl = 0;
            foreach (var p in vectors)
            {
                if (p.Length < 2) continue;
                if (books.Encode(p, codes, r.GetValue(beam), out double k)) { coded++; kl += k; }
                else escaped++;
            }
            Console.WriteLine(
                $"trained {books.M} codebooks x 256 x {books.D} dims on {report.Vectors:N0} positions " +
                $"in {report.Elapsed.TotalSeconds:F1} s; ref {DictionaryFile.RefHex(books.Ref)} -> {r.GetValue(outOpt)}");
            Console.WriteLine(
                $"weighted squared log error after each codebook: " +
                $"{string.Join(" ", report.WeightedErrorAfterStage.Select(e => e.ToString("G3")))}; " +
                $"after refinement {report.WeightedErrorAfterRefine:G3}");
            Console.WriteLine(
                $"on the training sample: mean KL {kl / Math.Max(1, coded):G3} nats over {coded:N0} coded positions, " +
                $"{escaped:N0} escaped ({100.0 * escaped / Math.Max(1, coded + escaped):F2}%)");
            return 0;
        });
        return new Command("codebook", "mvq codebooks") { train };
    }
}
