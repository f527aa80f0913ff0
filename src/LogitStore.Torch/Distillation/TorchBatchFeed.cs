using LogitStore.Loading;
using LogitStore.Reading;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>
/// A loader batch as tensors on the training device. Borrowed: the tensors belong to the feed and stay valid until
/// the batch is disposed, which hands its ring slot back to the loader.
/// </summary>
public sealed class DeviceBatch(Batch source, Tensor tokens, TeacherTargets targets, Action? release) : IDisposable
{
    public Tensor Tokens { get; } = tokens;
    public TeacherTargets Targets { get; } = targets;
    public long Step => Source.Step;

    /// <summary>The loader batch these tensors hold (rows' sequence ids and offsets); valid while this batch is.</summary>
    public Batch Source { get; } = source;

    public void Dispose() => release?.Invoke();
}

/// <summary>
/// Feeds <see cref="BatchLoader"/> batches to a device with no host copy after decoding. The loader's ring slots are
/// torch tensors (<see cref="TensorBatchMemory"/>) in the types the trainer consumes (int64 tokens, ids and counts,
/// float32 probabilities and residual), so the workers decode straight into torch's memory:
/// - on the CPU the slot's tensors are the batch (no copy at all); the slot goes back when the batch is disposed;
/// - on CUDA the slots are page-locked and each batch is copied, non-blocking, into one of two device buffers in
///   turn (double-buffered: batch n+1 is copied while the trainer may still hold batch n). A host slot returns to
///   the loader only once the device has finished with everything queued before the next batch is asked for, so
///   no worker overwrites memory a copy is still reading.
/// </summary>
public sealed class TorchBatchFeed : IDisposable
{
    private readonly BatchLoader _loader;
    private readonly Device _device;
    private readonly List<TensorBatchMemory> _slots = [];
    private readonly DeviceBuffers[] _deviceBuffers = [];
    private Batch? _inFlight;
    private int _next;

    public TorchBatchFeed(StoreReader store, BatchLoaderOptions options, Device device)
    {
        _device = device;
        bool cuda = device.type == DeviceType.CUDA;
        _loader = new BatchLoader(store, options with
        {
            IndexType = BatchIndexType.Int64,
            Memory = layout =>
            {
                var slot = new TensorBatchMemory(layout, pageLocked: cuda);
                lock (_slots) _slots.Add(slot);
                return slot;
            },
        });
        Layout = options.Layout with { IndexType = BatchIndexType.Int64 };
        if (cuda) _deviceBuffers = [new DeviceBuffers(Layout, device), new DeviceBuffers(Layout, device)];
    }

    public BatchLayout Layout { get; }

    /// <summary>Batches per epoch for this rank.</summary>
    public long StepsPerEpoch => _loader.StepsPerEpoch;

    /// <summary>Bytes moved to the device per position (0 on the CPU).</summary>
    public int DeviceBytesPerPosition => _device.type == DeviceType.CUDA ? Layout.BytesPerPosition : 0;

    public DeviceBatch Next()
    {
        if (_device.type != DeviceType.CUDA)
        {
            var b = _loader.Next();
            var slot = (TensorBatchMemory)b.Memory;
            return new DeviceBatch(b, slot[BatchColumn.Tokens], Targets(i => slot[i]), () => _loader.Release(b));
        }
        ReturnInFlightSlot();
        var batch = _loader.Next();
        var host = (TensorBatchMemory)batch.Memory;
        var d = _deviceBuffers[_next];
        _next ^= 1;
        foreach (var c in BatchLayout.Columns) d[c].copy_(host[c], true);
        _inFlight = batch;
        return new DeviceBatch(batch, d[BatchColumn.Tokens], Targets(i => d[i]), null);
    }

    private static TeacherTargets Targets(Func<BatchColumn, Tensor> column) =>
        new(column(BatchColumn.Ids), column(BatchColumn.Probs), column(BatchColumn.KeptCounts), column(BatchColumn.Residual));

    private void ReturnInFlightSlot()
    {
        if (_inFlight is null) return;
        // TorchSharp has no CUDA events; the trainer synchronises every step (it reads the loss), so this wait is
        // normally already satisfied and costs nothing.
        cuda.synchronize();
        _loader.Release(_inFlight);
        _inFlight = null;
    }

    public void Dispose()
    {
        if (_device.type == DeviceType.CUDA && _inFlight is not null) cuda.synchronize();
        _loader.Dispose();
        foreach (var s in _slots) s.Dispose();
        foreach (var d in _deviceBuffers) d.Dispose();
    }

    private sealed class DeviceBuffers : IDisposable
    {
        private readonly Tensor[] _tensors;

        public DeviceBuffers(BatchLayout layout, Device device) =>
            _tensors = BatchLayout.Columns.Select(c => empty(layout.Shape(c),
                c is BatchColumn.Probs or BatchColumn.Residual ? ScalarType.Float32 : ScalarType.Int64,
                device).DetachFromDisposeScope()).ToArray();

        public Tensor this[BatchColumn column] => _tensors[(int)column];

        public void Dispose()
        {
            foreach (var t in _tensors) t.Dispose();
        }
    }
}
