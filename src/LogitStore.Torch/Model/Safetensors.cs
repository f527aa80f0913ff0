using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header mapping each name to
/// dtype, shape and [begin, end) data offsets, then the raw little-endian tensor bytes) for F32, F16, BF16 and I32.
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
        using var fs = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        fs.Write(len);
        fs.Write(json);
        for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
        foreach (var b in blobs) fs.Write(b);
        fs.Flush(flushToDisk: true);
        fs.Close();
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Every tensor of the file, on the CPU, in its stored dtype.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        var all = File.ReadAllBytes(path);
        if (all.Length < 8) throw new InvalidDataException($"{path} @ offset 0: shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(all);
        if (n > (ulong)all.Length - 8)
            throw new InvalidDataException($"{path} @ offset 0: header length {n} runs past the end of the file");
        JsonObject header;
        try { header = JsonNode.Parse(all.AsSpan(8, (int)n))!.AsObject(); }
        catch (JsonException ex) { throw new InvalidDataException($"{path} @ offset 8: header is not JSON: {ex.Message}"); }
        long dataStart = 8 + (long)n;
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            var o = node!.AsObject();
            string dtype = (string)o["dtype"]!;
            long[] shape = o["shape"]!.AsArray().Select(x => (long)x!).ToArray();
            var offs = o["data_offsets"]!.AsArray();
            long begin = (long)offs[0]!, end = (long)offs[1]!;
            var (type, size) = dtype switch
            {
                "F32" => (ScalarType.Float32, 4),
                "F16" => (ScalarType.Float16, 2),
                "BF16" => (ScalarType.BFloat16, 2),
                "I32" => (ScalarType.Int32, 4),
                _ => throw new InvalidDataException($"{path}: tensor {name} has dtype {dtype} (F32, F16, BF16, I32 are read)"),
            };
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (begin < 0 || end - begin != count * size || dataStart + end > all.Length)
                throw new InvalidDataException(
                    $"{path} @ offset {dataStart + begin}: tensor {name} needs {count * size} bytes in [{begin}, {end}) " +
                    $"of the data section");
            var t = empty(shape, type);
            all.AsSpan((int)(dataStart + begin), (int)(end - begin)).CopyTo(t.bytes);
            result[name] = t;
        }
        return result;
    }
}
