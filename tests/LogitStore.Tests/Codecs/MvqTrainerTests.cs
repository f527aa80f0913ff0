using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs.Mvq;

namespace LogitStore.Tests.Codecs;

public class MvqTrainerTests
{
    /// <summary>
    /// Positions whose probabilities span many orders of magnitude, so that the cluster sums of training are inexact
    /// in binary64 and their value depends on the order they are added in.
    /// </summary>
    private static List<float[]> WideRangePositions(int seed, int count)
    {
        var rng = new Random(seed);
        var positions = new List<float[]>(count);
        for (int i = 0; i < count; i++)
        {
            int n = rng.Next(1, 24);
            var logits = Enumerable.Range(0, n).Select(_ => -rng.NextDouble() * rng.Next(1, 80)).OrderDescending().ToArray();
            double sum = logits.Sum(Math.Exp);
            positions.Add([.. logits.Select(l => (float)(Math.Exp(l) / sum))]);
        }
        return positions;
    }

    /// <summary>
    /// Codebooks are part of a store's bytes (its dictionary, and every block's codes), so the same pack on a machine
    /// with another core count, or run twice, must train the same codebooks to the bit.
    /// </summary>
    [Property(MaxTest = 4)]
    public bool Codebooks_AreBitwiseTheSame_ForAnyThreadCount(int seed)
    {
        var positions = WideRangePositions(seed, 3000);
        byte[] Trained(int threads) => MvqTrainer.Train(
            positions,
            new MvqTrainingOptions { Codebooks = 2, LloydIterations = 3, RefineIterations = 2, Seed = (ulong)seed, Threads = threads })
            .Codebooks.FileBytes;
        byte[] one = Trained(1);
        return new[] { 2, 3, 4 }.All(threads => Trained(threads).AsSpan().SequenceEqual(one));
    }
}
