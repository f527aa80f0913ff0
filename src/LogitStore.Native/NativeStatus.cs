using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LogitStore.Format;

namespace LogitStore.Native;

/// <summary>
/// Status codes of the C ABI and the calling thread's last error (include/logitstore.h): every export catches, records
/// and returns a code, so no managed exception ever crosses into the caller.
/// </summary>
internal static class NativeStatus
{
    public const int Ok = 0;
    public const int Corrupt = -1;
    public const int InvalidArgument = -2;
    public const int IoError = -3;
    public const int InternalError = -4;

    [ThreadStatic] private static string? t_message;
    [ThreadStatic] private static string? t_file;
    [ThreadStatic] private static long t_offset;

    public static int Fail(Exception ex)
    {
        t_message = ex.Message;
        t_file = (ex as StoreCorruptException)?.File;
        t_offset = (ex as StoreCorruptException)?.Offset ?? -1;
        return ex switch
        {
            StoreCorruptException => Corrupt,
            ArgumentException or InvalidOperationException or ObjectDisposedException or NullReferenceException => InvalidArgument,
            IOException or UnauthorizedAccessException => IoError,
            _ => InternalError,
        };
    }

    public static int Succeed()
    {
        t_message = null;
        t_file = null;
        t_offset = -1;
        return Ok;
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_abi_version")]
    public static int AbiVersion() => NativeAbi.Version;

    /// <summary>Copies the last error (UTF-8, NUL-terminated, cut to fit) and returns its full length in bytes.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_last_error")]
    public static unsafe int LastError(byte* buffer, int capacity) => NativeSpans.CopyUtf8(t_message ?? "", buffer, capacity);

    /// <summary>The file the last error names (a corrupt store's), or an empty string.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_last_error_file")]
    public static unsafe int LastErrorFile(byte* buffer, int capacity) => NativeSpans.CopyUtf8(t_file ?? "", buffer, capacity);

    /// <summary>The byte offset the last error names, or -1.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_last_error_offset")]
    public static long LastErrorOffset() => t_message is null ? -1 : t_offset;

    /// <summary>Managed bytes the library has allocated since it loaded, all threads: flat when a loop allocates nothing.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_allocated_bytes")]
    public static long AllocatedBytes() => GC.GetTotalAllocatedBytes(precise: true);

    /// <summary>Frees bytes the library returned (a JSON document).</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_free_bytes")]
    public static unsafe void FreeBytes(byte* bytes) => NativeMemory.Free(bytes);

    /// <summary>
    /// The JSON object <paramref name="write"/> writes, handed to the caller as UTF-8 bytes the library allocated
    /// (freed with logitstore_free_bytes).
    /// </summary>
    internal static unsafe int ReturnJson(byte** json, long* length, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return ReturnBytes(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), json, length);
    }

    private static unsafe int ReturnBytes(ReadOnlySpan<byte> utf8, byte** bytes, long* length)
    {
        byte* copy = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, utf8.Length));
        utf8.CopyTo(new Span<byte>(copy, utf8.Length));
        *bytes = copy;
        *length = utf8.Length;
        return Succeed();
    }

    internal static string Utf8String(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
