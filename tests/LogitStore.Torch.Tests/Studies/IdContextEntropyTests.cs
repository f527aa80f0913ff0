using LogitStore.Studies.Ids;

namespace LogitStore.Tests.Studies;

public class IdContextEntropyTests
{
    [Fact]
    public void DeterministicContext_CostFallsTowardsZero()
    {
        const int alphabet = 1000;
        var order0 = new AdaptiveOrder0Model(alphabet);
        var byContext = new AdaptiveContextModel(alphabet);
        double lateBits = 0;
        for (int n = 0; n < 20_000; n++)
        {
            int context = n % 50, symbol = (context * 7 + 3) % alphabet;
            double p = byContext.ProbabilityThenLearn(context, symbol, order0.ProbabilityThenLearn(symbol));
            if (n >= 10_000) lateBits -= Math.Log2(p);
        }
        Assert.InRange(lateBits / 10_000, 0, 0.01);
    }

    [Fact]
    public void UniformRandomStream_CostsLog2OfTheAlphabet()
    {
        const int alphabet = 64;
        var order0 = new AdaptiveOrder0Model(alphabet);
        var random = new Random(7);
        double bits = 0;
        const int count = 200_000;
        for (int n = 0; n < count; n++) bits -= Math.Log2(order0.ProbabilityThenLearn(random.Next(alphabet)));
        Assert.InRange(bits / count, 6.0, 6.02);
    }

    [Fact]
    public void SetBits_TiedRunsGiveBackTheirOrder()
    {
        var (all, available, tied) = IdContextEntropy.SetBits([0.5f, 0.2f, 0.2f, 0.1f]);
        Assert.Equal(Math.Log2(24), all, 9);
        Assert.Equal(Math.Log2(12), available, 9);
        Assert.True(tied);
    }
}
