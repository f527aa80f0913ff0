using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LogitStore.Format.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>
/// Writes the safetensors format (8-byte little-endian header length, a JSON header mapping each name to
/// dtype, shape and [begin, end) data offsets, then the raw little-endian tensor bytes) for F32, F16, BF16 and I32;
/// <see cref="CheckpointWeights"/> reads it.
/// </summary>
public static class Safetensors
{
    public static void Save(
        string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is not null)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            using var cpu = tensor.detach().cpu().contiguous();
            string dtype = cpu.dtype switch
            {
                ScalarType.Float32 => "F32",
                ScalarType.Float16 => "F16",
                ScalarType.BFloat16 => "BF16",
                ScalarType.Int32 => "I32",
                _ => throw new ArgumentException($"{name}: dtype {cpu.dtype} is not saved (F32, F16, BF16, I32)"),
            };
            var bytes = cpu.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(cpu.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            blobs.Add(bytes);
            offset += bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8; // the format allows trailing spaces; aligned data is friendlier to mmap readers
        using var file = DurableFile.Create(path);
        var fs = file.Stream;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        fs.Write(len);
        fs.Write(json);
        for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
        foreach (var b in blobs) fs.Write(b);
        file.Commit();
    }
}
