using System.Text.Json.Nodes;
using LogitStore.Torch.Model;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

/// <summary>Sharded safetensors: what loads, and the damaged or inconsistent layouts that are errors naming the file.</summary>
public sealed class CheckpointWeightsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("logitstore-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Two shards: a [3, 4] BF16 matrix in the first, an F16 vector and an F32 vector in the second.</summary>
    private (Tensor A, Tensor B, Tensor C) WriteShards()
    {
        var a = randn(3, 4).to_type(ScalarType.BFloat16);
        var b = randn(5).to_type(ScalarType.Float16);
        var c = randn(6);
        Safetensors.Save(Path.Combine(_dir, "model-00001-of-00002.safetensors"), [("a", a)]);
        Safetensors.Save(Path.Combine(_dir, "model-00002-of-00002.safetensors"), [("b", b), ("c", c)]);
        WriteIndex(new JsonObject
        {
            ["a"] = "model-00001-of-00002.safetensors", ["b"] = "model-00002-of-00002.safetensors",
            ["c"] = "model-00002-of-00002.safetensors",
        });
        return (a, b, c);
    }

    private void WriteIndex(JsonObject map) => File.WriteAllText(
        Path.Combine(_dir, CheckpointWeights.IndexFile),
        new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());

    [Fact]
    public void Shards_StreamIntoFloat32Parameters_Exactly()
    {
        var (a, b, c) = WriteShards();
        using var weights = CheckpointWeights.Open(_dir);
        Assert.Equal(2, weights.Files.Count);
        Assert.Equal(3 * 4 * 2 + 5 * 2 + 6 * 4, weights.Bytes);
        foreach (var (name, source) in new[] { ("a", a), ("b", b), ("c", c) })
        {
            using var into = zeros(source.shape);
            weights.CopyInto(name, into);
            Assert.True(into.equal(source.to_type(ScalarType.Float32)).all().item<bool>(), name);
        }
    }

    [Fact]
    public void Hash_OfOneFile_IsTheFilesHash_AndChangesWithAnyShard()
    {
        Safetensors.Save(Path.Combine(_dir, Checkpoint.WeightsFile), [("x", randn(8))]);
        Assert.Equal(
            LogitStore.Format.Checksum.ToHex(LogitStore.Format.Checksum.Of(File.ReadAllBytes(Path.Combine(_dir, Checkpoint.WeightsFile)))),
            CheckpointWeights.Hash(_dir));
        File.Delete(Path.Combine(_dir, Checkpoint.WeightsFile));
        WriteShards();
        string before = CheckpointWeights.Hash(_dir);
        var second = Path.Combine(_dir, "model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(second);
        bytes[^1] ^= 1;
        File.WriteAllBytes(second, bytes);
        Assert.NotEqual(before, CheckpointWeights.Hash(_dir));
    }

    [Fact]
    public void InconsistentLayouts_AreErrorsNamingTheFile()
    {
        WriteShards();
        WriteIndex(new JsonObject
        {
            ["a"] = "model-00002-of-00002.safetensors", ["b"] = "model-00002-of-00002.safetensors",
            ["c"] = "model-00002-of-00002.safetensors",
        });
        Assert.Contains("model-00002-of-00002.safetensors: holds no tensor 'a'",
            Assert.Throws<InvalidDataException>(() => CheckpointWeights.Open(_dir)).Message);
        WriteIndex(new JsonObject { ["a"] = "model-00001-of-00002.safetensors", ["b"] = "model-00003-of-00003.safetensors" });
        Assert.Contains("model-00003-of-00003.safetensors: a shard",
            Assert.Throws<FileNotFoundException>(() => CheckpointWeights.Open(_dir)).Message);
        WriteIndex(new JsonObject { ["a"] = "../elsewhere.safetensors" });
        Assert.Contains("is not a file name", Assert.Throws<InvalidDataException>(() => CheckpointWeights.Open(_dir)).Message);
    }

    [Fact]
    public void ATruncatedShard_IsRefusedWhenOpened_NamingItsOffset()
    {
        WriteShards();
        var second = Path.Combine(_dir, "model-00002-of-00002.safetensors");
        var bytes = File.ReadAllBytes(second);
        File.WriteAllBytes(second, bytes[..^3]);
        var message = Assert.Throws<InvalidDataException>(() => CheckpointWeights.Open(_dir)).Message;
        Assert.StartsWith($"{second} @ offset ", message);
        Assert.Contains("tensor 'c'", message);
    }
}
