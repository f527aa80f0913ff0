using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>Where one tensor of a checkpoint lies: its file, dtype, shape, and the data's absolute byte range.</summary>
public sealed record CheckpointTensor(string File, string DType, long[] Shape, long Offset, long Length)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The weights of a checkpoint as Hugging Face lays them out: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c> lists. Only the headers are read when it opens (every tensor's range checked
/// against its file); <see cref="CopyInto"/> then streams one tensor's bytes straight into a parameter, converting
/// BF16/F16 to its dtype on the way, so loading never holds a second copy of the weights.
/// </summary>
public sealed class CheckpointWeights : IDisposable
{
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>The chunk a tensor is read in: bounds the loader's own memory, whatever the tensor's size.</summary>
    private const int ChunkBytes = 8 << 20;

    private const int MaxHeaderBytes = 100 << 20;

    private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);

    private CheckpointWeights(string directory, IReadOnlyList<string> files, Dictionary<string, CheckpointTensor> tensors)
    {
        Directory = directory;
        Files = files;
        Tensors = tensors;
    }

    public string Directory { get; }

    /// <summary>The weight files, in name order (the order <see cref="Hash"/> reads them in).</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyDictionary<string, CheckpointTensor> Tensors { get; }

    /// <summary>Bytes of all weights, as stored.</summary>
    public long Bytes => Tensors.Values.Sum(t => t.Length);

    public static bool Exists(string directory) =>
        File.Exists(Path.Combine(directory, Checkpoint.WeightsFile)) || File.Exists(Path.Combine(directory, IndexFile));

    /// <summary>Reads the headers of the checkpoint's weight files (the index's shards, else model.safetensors).</summary>
    public static CheckpointWeights Open(string directory)
    {
        var files = WeightFiles(directory, out var map);
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var t in ReadHeader(file))
            {
                string name = t.Key;
                if (map is not null && (!map.TryGetValue(name, out var listed) || listed != Path.GetFileName(file)))
                    throw new InvalidDataException(
                        $"{file}: tensor '{name}' is not the one {IndexFile} places in {Path.GetFileName(file)}");
                if (!tensors.TryAdd(name, t.Value))
                    throw new InvalidDataException($"{file}: tensor '{name}' is also in {tensors[name].File}");
            }
        if (map is not null)
            foreach (var (name, file) in map)
                if (!tensors.ContainsKey(name))
                    throw new InvalidDataException($"{Path.Combine(directory, file)}: holds no tensor '{name}', which {IndexFile} lists");
        return new CheckpointWeights(directory, files, tensors);
    }

    /// <summary>
    /// XXH3-64 of the weight files' bytes, read one after another in name order: for a single model.safetensors, the
    /// hash of that file. The teacher's identity in manifests; a resume refuses weights that changed.
    /// </summary>
    public static string Hash(string directory)
    {
        var hash = new XxHash3();
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var file in WeightFiles(directory, out _))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                int n;
                while ((n = stream.Read(buffer, 0, ChunkBytes)) > 0) hash.Append(buffer.AsSpan(0, n));
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
        return LogitStore.Format.Checksum.ToHex(hash.GetCurrentHashAsUInt64());
    }

    /// <summary>Copies the named tensor into <paramref name="destination"/> (a contiguous CPU tensor of its shape).</summary>
    public void CopyInto(string name, Tensor destination)
    {
        var t = Tensors[name];
        if (!t.Shape.SequenceEqual(destination.shape))
            throw new InvalidDataException(
                $"{t.File} @ offset {t.Offset}: '{name}' is [{string.Join(", ", t.Shape)}], the model wants " +
                $"[{string.Join(", ", destination.shape)}]");
        if (!destination.is_contiguous() || destination.device_type != DeviceType.CPU)
            throw new ArgumentException($"'{name}': weights are copied into contiguous CPU tensors");
        if (t.DType == "I32")
            throw new InvalidDataException($"{t.File} @ offset {t.Offset}: '{name}' is I32; the model's weights are floating point");
        var handle = Handle(t.File);
        int sourceSize = ElementSize(t.DType);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            long elements = t.Elements, done = 0;
            int perChunk = ChunkBytes / sourceSize;
            while (done < elements)
            {
                int n = (int)Math.Min(perChunk, elements - done);
                var chunk = buffer.AsSpan(0, n * sourceSize);
                ReadExactly(handle, chunk, t.Offset + done * sourceSize, t.File);
                TensorMemory.Write(destination, done, n, t.DType, chunk);
                done += n;
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>A small I32 tensor's values (the compact vocabulary's ids).</summary>
    public int[] ReadInt32(string name)
    {
        var t = Tensors[name];
        if (t.DType != "I32" || t.Shape.Length != 1) throw new InvalidDataException($"{t.File}: '{name}' is not an I32 vector");
        var bytes = new byte[t.Length];
        ReadExactly(Handle(t.File), bytes, t.Offset, t.File);
        return MemoryMarshal.Cast<byte, int>(bytes).ToArray();
    }

    public void Dispose()
    {
        foreach (var h in _handles.Values) h.Dispose();
        _handles.Clear();
    }

    private SafeFileHandle Handle(string file)
    {
        if (!_handles.TryGetValue(file, out var h)) _handles[file] = h = File.OpenHandle(file);
        return h;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> into, long offset, string file)
    {
        while (into.Length > 0)
        {
            int n = RandomAccess.Read(handle, into, offset);
            if (n == 0) throw new InvalidDataException($"{file} @ offset {offset}: the file ends inside a tensor");
            into = into[n..];
            offset += n;
        }
    }

    private static List<string> WeightFiles(string directory, out Dictionary<string, string>? map)
    {
        string index = Path.Combine(directory, IndexFile), single = Path.Combine(directory, Checkpoint.WeightsFile);
        map = null;
        if (!File.Exists(index))
        {
            if (!File.Exists(single))
                throw new FileNotFoundException($"{directory}: no {Checkpoint.WeightsFile} and no {IndexFile}");
            return [single];
        }
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(index)) as JsonObject;
            if (json?["weight_map"] is not JsonObject weightMap)
                throw new InvalidDataException($"{index}: no object 'weight_map'");
            map = weightMap.ToDictionary(
                p => p.Key,
                p => p.Value is JsonValue v && v.TryGetValue(out string? f) && f == Path.GetFileName(f) ? f
                    : throw new InvalidDataException($"{index}: weight_map['{p.Key}'] is not a file name"),
                StringComparer.Ordinal);
        }
        catch (JsonException ex) { throw new InvalidDataException($"{index}: not JSON: {ex.Message}"); }
        var files = map.Values.Distinct().Order(StringComparer.Ordinal).Select(f => Path.Combine(directory, f)).ToList();
        foreach (var f in files) if (!File.Exists(f)) throw new FileNotFoundException($"{f}: a shard {IndexFile} lists is missing");
        return files;
    }

    private static Dictionary<string, CheckpointTensor> ReadHeader(string file)
    {
        using var handle = File.OpenHandle(file);
        long length = RandomAccess.GetLength(handle);
        Span<byte> prefix = stackalloc byte[8];
        if (length < 8) throw new InvalidDataException($"{file} @ offset 0: shorter than the 8-byte header length");
        ReadExactly(handle, prefix, 0, file);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > (ulong)Math.Min(length - 8, MaxHeaderBytes))
            throw new InvalidDataException($"{file} @ offset 0: header length {n} runs past the end of the file (or past 100 MiB)");
        var headerBytes = new byte[n];
        ReadExactly(handle, headerBytes, 8, file);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject
                ?? throw new InvalidDataException($"{file} @ offset 8: header is not an object");
        }
        catch (JsonException ex) { throw new InvalidDataException($"{file} @ offset 8: header is not JSON: {ex.Message}"); }
        long dataStart = 8 + (long)n;
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            try
            {
                var o = node!.AsObject();
                string dtype = (string)o["dtype"]!;
                long[] shape = o["shape"]!.AsArray().Select(x => (long)x!).ToArray();
                var offsets = o["data_offsets"]!.AsArray();
                long begin = (long)offsets[0]!, end = (long)offsets[1]!;
                int size = ElementSize(dtype, file, name);
                long count = shape.Any(d => d < 0) ? -1 : shape.Aggregate(1L, (a, b) => checked(a * b));
                if (count < 0 || begin < 0 || end < begin || end > length - dataStart || end - begin != checked(count * size))
                    throw new InvalidDataException(
                        $"{file} @ offset {dataStart + begin}: tensor '{name}' needs {count * size} bytes in [{begin}, {end}) of " +
                        $"a data section of {length - dataStart}");
                tensors[name] = new CheckpointTensor(file, dtype, shape, dataStart + begin, end - begin);
            }
            catch (Exception ex) when (ex is InvalidOperationException or NullReferenceException or FormatException
                or OverflowException or ArgumentOutOfRangeException)
            {
                throw new InvalidDataException($"{file} @ offset 8: the header's entry for '{name}' is malformed");
            }
        }
        return tensors;
    }

    private static int ElementSize(string dtype, string file = "", string name = "") => dtype switch
    {
        "F32" or "I32" => 4,
        "F16" or "BF16" => 2,
        _ => throw new InvalidDataException($"{file}: tensor '{name}' has dtype {dtype} (BF16, F16, F32 and I32 are read)"),
    };
}
