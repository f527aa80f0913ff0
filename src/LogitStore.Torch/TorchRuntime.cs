using System.Runtime.InteropServices;
using TorchSharp;

namespace LogitStore.Torch;

/// <summary>Picks the device and reports what TorchSharp runs on.</summary>
public static class TorchRuntime
{
    static TorchRuntime()
    {
        HostAllocator.KeepFreedMemory();
        CpuFloatingPoint.FlushDenormals();
    }

    /// <summary>
    /// Flushes denormals on the calling thread (see <see cref="CpuFloatingPoint"/>); cheap after the first call on a thread.
    /// </summary>
    public static void PrepareThread() => CpuFloatingPoint.FlushDenormals();

    /// <summary>"cuda" when asked for and available, else "cpu".</summary>
    public static torch.Device Device(string requested = "auto")
    {
        bool cuda = torch.cuda.is_available();
        return requested switch
        {
            "cpu" => torch.CPU,
            "cuda" when cuda => torch.CUDA,
            "cuda" => throw new SettingException("device", "cuda was asked for, but CUDA is not available to TorchSharp here"),
            _ => cuda ? torch.CUDA : torch.CPU,
        };
    }
}

/// <summary>
/// libtorch's CPU tensors come from malloc, and glibc serves every allocation above 32 MiB with a fresh mmap that
/// it unmaps on free: a [B, T, V] logits tensor at V = 100k is hundreds of MiB, so each training step faulted
/// in (and zeroed) gigabytes of new pages, and the kernel's share of a CPU step was about half. Turning off
/// mmap-served allocations and heap trimming keeps freed blocks for reuse: 3.7x the tokens/s of the tiny
/// preset on the 2-core box (287 -> 1,006 tokens/s, <c>teacher train --preset tiny --batch 8 --seq-len 64</c>,
/// single-machine reading). Set <c>LOGITSTORE_MALLOC=default</c> to keep glibc's behaviour.
/// The arena limit only holds if it is set before a second thread first allocates (glibc computes it once, then);
/// in a .NET process the runtime's own threads come first, so a thread-pool thread running torch can still get an
/// arena of its own, whose blocks above 64 MiB are always mmap-served (seen: student steps 3.2 s instead of 0.7 s
/// after an in-process pack). The <c>logitstore</c> script therefore also sets MALLOC_ARENA_MAX=1,
/// MALLOC_MMAP_MAX_=0 and MALLOC_TRIM_THRESHOLD_ in the environment; programs that host the library should too.
/// </summary>
internal static class HostAllocator
{
    private const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4, M_ARENA_MAX = -8;

    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("LOGITSTORE_MALLOC") == "default") return;
        try
        {
            // One arena: a thread-pool thread (an awaited continuation) otherwise allocates from its own
            // arena, whose 64 MiB heaps are trimmed regardless, and the faults come back (student steps 4x slower).
            mallopt(M_ARENA_MAX, 1);
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, int.MaxValue);
        }
        catch (EntryPointNotFoundException) { }   // not glibc (musl): nothing to tune
        catch (DllNotFoundException) { }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}

/// <summary>
/// Sets flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) on the calling thread; libtorch's OpenMP
/// threads inherit the setting from the thread that starts them, and the trainers call this at every step, since an
/// awaited continuation may resume on another thread. Training a cl100k model on the CPU drives the softmax
/// gradients of rarely seen tokens, and AdamW's squared-gradient averages of their tied embedding rows, below
/// 1e-38, where each operation on a denormal costs a microcode assist: the small preset slowed from 460 to 85
/// tokens/s within 100 steps. TorchSharp does not expose libtorch's torch.set_flush_denormal, so this goes through
/// glibc's fegetenv/fesetenv (x86-64 fenv_t: 32 bytes, MXCSR at offset 28). Values below 1.2e-38 become 0.
/// </summary>
internal static class CpuFloatingPoint
{
    private const int MxcsrOffset = 28, FenvBytes = 32;
    private const uint FlushToZero = 1u << 15, DenormalsAreZero = 1u << 6;
    private static readonly bool Enabled = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
        && Environment.GetEnvironmentVariable("LOGITSTORE_DENORMALS") != "keep";

    [ThreadStatic] private static bool _done;

    public static void FlushDenormals()
    {
        if (!Enabled || _done) return;
        try
        {
            var env = new byte[FenvBytes];
            if (fegetenv(env) != 0) return;
            uint mxcsr = BitConverter.ToUInt32(env, MxcsrOffset) | FlushToZero | DenormalsAreZero;
            BitConverter.TryWriteBytes(env.AsSpan(MxcsrOffset), mxcsr);
            fesetenv(env);
            _done = true;
        }
        catch (EntryPointNotFoundException) { }
        catch (DllNotFoundException) { }
    }

    [DllImport("libm.so.6")]
    private static extern int fegetenv(byte[] environment);

    [DllImport("libm.so.6")]
    private static extern int fesetenv(byte[] environment);
}
