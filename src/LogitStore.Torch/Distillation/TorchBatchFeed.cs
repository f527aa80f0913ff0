using LogitStore.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>A loader batch as tensors on the training device.</summary>
public sealed class DeviceBatch(Tensor tokens, TeacherTargets targets, long step, List<Tensor> staging) : IDisposable
{
    public Tensor Tokens { get; } = tokens;
    public TeacherTargets Targets { get; } = targets;
    public long Step { get; } = step;

    public void Dispose()
    {
        // Page-locked staging tensors live until the batch is done: a non-blocking copy may still read them.
        foreach (var s in staging) s.Dispose();
        Tokens.Dispose();
        Targets.Ids.Dispose();
        Targets.Probs.Dispose();
        Targets.KeptCounts.Dispose();
        Targets.Residual.Dispose();
    }
}

/// <summary>
/// Moves <see cref="BatchLoader"/> batches to the device: on CUDA through page-locked host tensors and
/// non-blocking copies, so the copy of batch n+1 overlaps the compute of batch n; on the CPU as plain tensors
/// (identical values, tested). The loader's ring buffer goes back as soon as its bytes are in torch's hands.
/// </summary>
public sealed class TorchBatchFeed(BatchLoader loader, Device device)
{
    public DeviceBatch Next()
    {
        var b = loader.Next();
        var staging = new List<Tensor>(5);
        try
        {
            long rows = b.Rows, t = b.Length, k = b.K;
            Tensor Upload(Tensor host)
            {
                if (device.type != DeviceType.CUDA) return host;
                var pinned = host.pin_memory();
                host.Dispose();
                staging.Add(pinned);
                return pinned.to(device, non_blocking: true);
            }
            var tokens = Upload(tensor(b.Tokens, [rows, t]).to_type(ScalarType.Int64));
            var ids = Upload(tensor(b.Ids, [rows, t, k]).to_type(ScalarType.Int64));
            var probs = Upload(tensor(b.Probs, [rows, t, k]));
            var counts = Upload(tensor(b.KeptCounts, [rows, t]).to_type(ScalarType.Int64));
            var residual = Upload(tensor(b.Residual, [rows, t]));
            return new DeviceBatch(tokens, new TeacherTargets(ids, probs, counts, residual), b.Step, staging);
        }
        finally
        {
            loader.Release(b);
        }
    }
}
