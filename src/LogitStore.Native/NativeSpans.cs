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

    /// <summary>
    /// The caller's batch buffers as the loader's batch memory (int32 index columns). A caller fills a ring of the same
    /// few buffer sets again and again, so the memory of each set is checked and made once and kept in
    /// <paramref name="recent"/> (the loader handle's, most recently made first; callers may fill from several threads):
    /// a steady-state fill from a ring of at most <see cref="RecentCallerMemory.Capacity"/> sets allocates nothing.
    /// </summary>
    public static CallerBatchMemory Batch(BatchBuffersAbi* b, BatchLayout layout, RecentCallerMemory recent)
    {
        if (b is null) throw new ArgumentException("null batch buffers");
        lock (recent.Lock)
        {
            foreach (var known in recent.Memories)
                if (known is not null && known.Holds(*b)) return known;
        }
        if (layout.IndexType != BatchIndexType.Int32 || layout.MvqCodebooks != 0)
            throw new ArgumentException("the C ABI's batches have int32 index columns and decoded probabilities");
        long positions = layout.Positions, entries = positions * layout.K;
        Of(b->Tokens, positions);   // null and size checks
        Of(b->KeptCounts, positions);
        Of(b->Residual, positions);
        Of(b->Ids, entries);
        Of(b->Probs, entries);
        Of(b->RowSequence, layout.Rows);
        Of(b->RowOffset, layout.Rows);
        var made = new CallerBatchMemory(layout, *b);
        lock (recent.Lock)
        {
            var m = recent.Memories;
            Array.Copy(m, 0, m, 1, m.Length - 1);
            m[0] = made;
        }
        return made;
    }

    /// <summary>The batch memories a loader handle made for the caller's most recent buffer sets.</summary>
    internal sealed class RecentCallerMemory
    {
        public const int Capacity = 16;
        public readonly Lock Lock = new();
        public readonly CallerBatchMemory?[] Memories = new CallerBatchMemory?[Capacity];
    }

    /// <summary>Batch memory over caller-owned buffers, which must outlive every fill into them.</summary>
    internal sealed class CallerBatchMemory(BatchLayout layout, BatchBuffersAbi buffers) : BatchMemory(layout)
    {
        public bool Holds(in BatchBuffersAbi b) =>
            b.Tokens == buffers.Tokens && b.KeptCounts == buffers.KeptCounts && b.Residual == buffers.Residual
            && b.Ids == buffers.Ids && b.Probs == buffers.Probs && b.RowSequence == buffers.RowSequence
            && b.RowOffset == buffers.RowOffset;

        public Span<ulong> RowSequence => new(buffers.RowSequence, Layout.Rows);
        public Span<int> RowOffset => new(buffers.RowOffset, Layout.Rows);

        public override Span<byte> Column(BatchColumn column)
        {
            int bytes = (int)Layout.Bytes(column);
            return column switch
            {
                BatchColumn.Tokens => new(buffers.Tokens, bytes),
                BatchColumn.KeptCounts => new(buffers.KeptCounts, bytes),
                BatchColumn.Residual => new(buffers.Residual, bytes),
                BatchColumn.Ids => new(buffers.Ids, bytes),
                BatchColumn.Probs => new(buffers.Probs, bytes),
                _ => default,
            };
        }
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
