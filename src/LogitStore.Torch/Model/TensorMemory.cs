using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>
/// Writes stored little-endian elements into a contiguous CPU tensor's memory, converting on the way: the one place
/// the checkpoint loader turns a tensor into a span.
/// </summary>
internal static class TensorMemory
{
    /// <summary>
    /// Writes <paramref name="count"/> stored elements of <paramref name="dtype"/> (a safetensors name) into the tensor,
    /// from element <paramref name="first"/> on.
    /// </summary>
    public static void Write(Tensor destination, long first, int count, string dtype, ReadOnlySpan<byte> source)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("checkpoints are read on little-endian hosts");
        if (destination.dtype != ScalarType.Float32)
            throw new ArgumentException($"weights are loaded into float32 tensors, not {destination.dtype}");
        WriteSingles(Singles(destination, first, count), dtype, source);
    }

    private static void WriteSingles(Span<float> into, string dtype, ReadOnlySpan<byte> source)
    {
        switch (dtype)
        {
            case "F32":
                source.CopyTo(MemoryMarshal.AsBytes(into));
                break;
            case "BF16":
                var bf16 = MemoryMarshal.Cast<byte, ushort>(source);
                var bits = MemoryMarshal.Cast<float, uint>(into);
                for (int i = 0; i < bits.Length; i++) bits[i] = (uint)bf16[i] << 16;
                break;
            case "F16":
                var f16 = MemoryMarshal.Cast<byte, Half>(source);
                for (int i = 0; i < into.Length; i++) into[i] = (float)f16[i];
                break;
            default:
                throw new ArgumentException($"a {dtype} weight is not loaded into a float32 tensor");
        }
    }

    private static unsafe Span<float> Singles(Tensor t, long first, int count)
    {
        if (!t.is_contiguous() || t.device_type != DeviceType.CPU) throw new ArgumentException("a contiguous CPU tensor is needed");
        if (first < 0 || count < 0 || first + count > t.numel()) throw new ArgumentOutOfRangeException(nameof(first));
        // The storage's address plus the tensor's own offset: element 0 of this (contiguous) view.
        var start = (float*)t.storage<float>().data_ptr();
        return new Span<float>(start + t.storage_offset() + first, count);
    }
}
