using LogitStore.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

public class ModelTests
{
    private static TransformerConfig Tiny(bool tied = true, int kvHeads = 2) => new()
    {
        VocabSize = 97, HiddenSize = 32, IntermediateSize = 48, Layers = 2, Heads = 4, KeyValueHeads = kvHeads, MaxPositions = 64,
        TieEmbeddings = tied,
    };

    [Theory]
    [InlineData(true, 4)]
    [InlineData(false, 2)]
    public void Forward_GivesLogitsPerPosition_AndBackwardReachesEveryWeight(bool tied, int kvHeads)
    {
        random.manual_seed(1);
        using var model = new DecoderLM(Tiny(tied, kvHeads));
        using var tokens = randint(0, 97, [3, 11], dtype: ScalarType.Int64);
        using var logits = model.forward(tokens);
        Assert.Equal(new long[] { 3, 11, 97 }, logits.shape);
        using var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, 97), tokens[.., 1..].reshape(-1));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
        Assert.Equal(tied ? 0 : 1, model.named_parameters().Count(p => p.name == "lm_head.weight"));
        Assert.Equal(Tiny(tied, kvHeads).ParameterCount(), model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void MovingTheModel_KeepsOneParameterPerWeight_AndTrainsTheMovedOnes()
    {
        // Module.to(device) and Module.to(dtype) share one epilogue, which rebinds Parameter fields by field name; a
        // conversion on the CPU exercises what a move to CUDA does.
        random.manual_seed(4);
        using var model = new DecoderLM(Tiny(tied: false));
        var before = model.named_parameters().Select(p => p.name).ToArray();
        model.to(ScalarType.Float64);
        Assert.Equal(before, model.named_parameters().Select(p => p.name).ToArray());
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        using var tokens = randint(0, 97, [2, 9], dtype: ScalarType.Int64);
        using var logits = model.forward(tokens);
        using var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, 97), tokens[.., 1..].reshape(-1));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<double>() > 0, $"{name} got no gradient after the move");
    }

    [Fact]
    public void Attention_IsCausal_FutureTokensDoNotChangeEarlierLogits()
    {
        random.manual_seed(2);
        using var model = new DecoderLM(Tiny());
        using var a = randint(0, 97, [1, 10], dtype: ScalarType.Int64);
        using var b = a.clone();
        b[0, 7] = tensor(5L);
        b[0, 9] = tensor(6L);
        using var la = model.forward(a);
        using var lb = model.forward(b);
        Assert.True(la[0, ..7].allclose(lb[0, ..7], rtol: 1e-5, atol: 1e-6));
        Assert.False(la[0, 7..].allclose(lb[0, 7..], rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Checkpoint_RoundTrips_WithLlamaNames()
    {
        random.manual_seed(3);
        string dir = TestData.TempDir();
        using var model = new DecoderLM(Tiny(tied: false));
        Checkpoint.Save(dir, model);
        HashSet<string> names;
        using (var weights = CheckpointWeights.Open(dir)) names = weights.Tensors.Keys.ToHashSet();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.0.mlp.down_proj.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("lm_head.weight", names);
        using var again = Checkpoint.Load(dir);
        using var tokens = randint(0, 97, [2, 9], dtype: ScalarType.Int64);
        Assert.True(model.forward(tokens).allclose(again.forward(tokens)));
        Assert.Contains("\"num_hidden_layers\": 2", File.ReadAllText(Path.Combine(dir, Checkpoint.ConfigFile)));
        Directory.Delete(dir, true);
    }
}
