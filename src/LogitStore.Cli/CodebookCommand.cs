using System.CommandLine;
using LogitStore.Format.Storage;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore codebook train</c>: fit mvq codebooks on a store's positions and write a dictionary file.</summary>
internal static class CodebookCommand
{
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
            DefaultValueFactory = _ => new CodecOptions().MvqBeam,
        };
        var train = new Command("train", "train M codebooks on the first positions of a store") { from, sample, m, outOpt, beam };
        train.SetAction(r =>
        {
            using var store = StoreReader.Open(r.GetValue(from)!);
            var (books, report, score) = DictionaryTraining.CodebooksFromStore(store, r.GetValue(sample), r.GetValue(m), r.GetValue(beam));
            DurableFile.WriteAtomic(r.GetValue(outOpt)!, books.FileBytes);
            Console.WriteLine(
                $"trained {books.M} codebooks x 256 x {books.D} dims on {report.Vectors:N0} positions " +
                $"in {report.Elapsed.TotalSeconds:F1} s; ref {books.RefHex} -> {r.GetValue(outOpt)}");
            Console.WriteLine(
                $"weighted squared log error after each codebook: " +
                $"{string.Join(" ", report.WeightedErrorAfterStage.Select(e => e.ToString("G3")))}; " +
                $"after refinement {report.WeightedErrorAfterRefine:G3}");
            Console.WriteLine(
                $"on the training sample: mean KL {score.MeanKl:G3} nats over {score.Coded:N0} coded positions, " +
                $"{score.Escaped:N0} escaped ({100 * score.EscapedFraction:F2}%)");
            return 0;
        });
        return new Command("codebook", "mvq codebooks") { train };
    }
}
