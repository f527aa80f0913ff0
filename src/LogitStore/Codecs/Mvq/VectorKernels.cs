using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LogitStore.Codecs.Mvq;

/// <summary>
/// The SIMD kernels of MVQ training, encoding and decoding. Every entry point checks its span lengths first, so
/// the unchecked vector loads inside stay in bounds. They use 256-bit vectors of 8 lanes whatever the CPU offers,
/// so the order of every sum is fixed; where 256-bit vectors are not accelerated the runtime runs the same lane
/// operations in software, and the fused multiply-add of <see cref="Gemv256"/> rounds once on every path. So
/// additions, subtractions and products come out the same bits everywhere; only <see cref="ClampExp"/>'s
/// <c>exp</c> differs between the vectorised and the scalar path (format-spec 5.9), which decoding and the
/// encoder's KL guard use, not training.
/// </summary>
internal static class VectorKernels
{
    public const int Lanes = 8;

    /// <summary>out[k] = Σ_{j &lt; x.Length} x[j] · t[j·256 + k] for k &lt; 256 (t is a transposed codebook).</summary>
    public static void Gemv256(ReadOnlySpan<float> t, ReadOnlySpan<float> x, Span<float> output)
    {
        const int K = MvqCodebooks.Centroids;
        int rows = x.Length;
        if (t.Length < rows * K || output.Length < K) throw new ArgumentException("kernel spans too short");
        ref float tRef = ref MemoryMarshal.GetReference(t);
        ref float oRef = ref MemoryMarshal.GetReference(output);
        for (int k0 = 0; k0 < K; k0 += 8 * Lanes)
        {
            var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
            for (int j = 0; j < rows; j++)
            {
                var xj = Vector256.Create(x[j]);
                nuint at = (nuint)(j * K + k0);
                a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at), xj, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 8), xj, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 16), xj, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 24), xj, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 32), xj, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 40), xj, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 48), xj, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref tRef, at + 56), xj, a7);
            }
            nuint o = (nuint)k0;
            a0.StoreUnsafe(ref oRef, o); a1.StoreUnsafe(ref oRef, o + 8);
            a2.StoreUnsafe(ref oRef, o + 16); a3.StoreUnsafe(ref oRef, o + 24);
            a4.StoreUnsafe(ref oRef, o + 32); a5.StoreUnsafe(ref oRef, o + 40);
            a6.StoreUnsafe(ref oRef, o + 48); a7.StoreUnsafe(ref oRef, o + 56);
        }
    }

    /// <summary>dest[j] += src[j] for j &lt; dest.Length (lengths padded to whole vectors by the caller).</summary>
    public static void AddInPlace(Span<float> dest, ReadOnlySpan<float> src)
    {
        int n = dest.Length;
        if (src.Length < n || (n & (Lanes - 1)) != 0) throw new ArgumentException("kernel spans must be whole vectors");
        ref float d = ref MemoryMarshal.GetReference(dest);
        ref float s = ref MemoryMarshal.GetReference(src);
        for (nuint j = 0; j < (nuint)n; j += Lanes)
            (Vector256.LoadUnsafe(ref d, j) + Vector256.LoadUnsafe(ref s, j)).StoreUnsafe(ref d, j);
    }

    /// <summary>dest[j] -= src[j].</summary>
    public static void SubtractInPlace(Span<float> dest, ReadOnlySpan<float> src)
    {
        int n = dest.Length;
        if (src.Length < n || (n & (Lanes - 1)) != 0) throw new ArgumentException("kernel spans must be whole vectors");
        ref float d = ref MemoryMarshal.GetReference(dest);
        ref float s = ref MemoryMarshal.GetReference(src);
        for (nuint j = 0; j < (nuint)n; j += Lanes)
            (Vector256.LoadUnsafe(ref d, j) - Vector256.LoadUnsafe(ref s, j)).StoreUnsafe(ref d, j);
    }

    /// <summary>x[j] = exp(clamp(x[j], lo, 0)) for whole vectors; returns Σ over the first <paramref name="count"/>.</summary>
    public static float ClampExp(Span<float> x, int count, float lo)
    {
        int n = x.Length;
        if ((n & (Lanes - 1)) != 0 || count > n) throw new ArgumentException("kernel spans must be whole vectors");
        ref float r = ref MemoryMarshal.GetReference(x);
        var vlo = Vector256.Create(lo);
        var sum = Vector256<float>.Zero;
        int full = count & ~(Lanes - 1);
        for (int j = 0; j < n; j += Lanes)
        {
            // The vectorised exp returns 1 + 2^-23 at 0: capped at 1, the first entry of a position stays its maximum.
            var v = Vector256.Min(
                Vector256.Exp(Vector256.Min(Vector256.Max(Vector256.LoadUnsafe(ref r, (nuint)j), vlo), Vector256<float>.Zero)),
                Vector256<float>.One);
            v.StoreUnsafe(ref r, (nuint)j);
            if (j < full) sum += v;
        }
        float s = Vector256.Sum(sum);
        for (int j = full; j < count; j++) s += x[j];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PadToVector(int n) => (n + Lanes - 1) & ~(Lanes - 1);
}
