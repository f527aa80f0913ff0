using System.IO.Hashing;

namespace LogitStore.Format;

/// <summary>The format's one checksum: XXH3-64 with seed 0.</summary>
public static class Checksum
{
    public static ulong Of(ReadOnlySpan<byte> bytes) => XxHash3.HashToUInt64(bytes);

    public static string ToHex(ulong value) => value.ToString("x16");
}
