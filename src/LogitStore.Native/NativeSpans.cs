using System.Runtime.InteropServices;
using System.Text;
using LogitStore.Loading;

namespace LogitStore.Native;

/// <summary>The one place where the caller's pointers become spans; everything past it works on spans.</summary>
internal static unsafe class NativeSpans
{
    public static Span<T> Of<T>(T* pointer, long length) where T : unmanaged
    {
        if (length < 0 || length > int.MaxValue) throw new ArgumentException($"a buffer of {length} elements");
        if (pointer is null && length > 0) throw new ArgumentException("a null buffer");
        return new Span<T>(pointer, (int)length);
    }

    public static BatchBuffers Batch(BatchBuffersAbi* b, int rows, int length, int width)
    {
        if (b is null) throw new ArgumentException("null batch buffers");
        long positions = (long)rows * length;
        return new BatchBuffers(
            Of(b->Tokens, positions), Of(b->KeptCounts, positions), Of(b->Residual, positions),
            Of(b->Ids, positions * width), Of(b->Probs, positions * width),
            Of(b->RowSequence, rows), Of(b->RowOffset, rows));
    }

    public static string Utf8Path(byte* path)
    {
        if (path is null) throw new ArgumentException("a null path");
        return Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(path));
    }

    public static int CopyUtf8(string text, byte* buffer, int capacity)
    {
        int needed = Encoding.UTF8.GetByteCount(text);
        if (buffer is not null && capacity > 0)
        {
            var dest = new Span<byte>(buffer, capacity);
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            int n = Math.Min(bytes.Length, capacity - 1);
            bytes.AsSpan(0, n).CopyTo(dest);
            dest[n] = 0;
        }
        return needed;
    }

    public static T Target<T>(nint handle) where T : class =>
        handle == 0 ? throw new ArgumentException("a null handle") : (GCHandle.FromIntPtr(handle).Target as T)
            ?? throw new ArgumentException($"the handle is not a {typeof(T).Name}");
}
