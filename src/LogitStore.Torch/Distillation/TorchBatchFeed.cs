using LogitStore.Loading;
using LogitStore.Reading;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>
/// A loader batch as tensors on the training device. Borrowed: the tensors belong to the feed and stay valid until
/// the batch is disposed, which hands its ring slot back to the loader.
/// </summary>
public sealed class DeviceBatch(Batch source, Tensor tokens, TeacherTargets targets, Action? release, List<Tensor>? owned = null)
    : IDisposable
{
    public Tensor Tokens { get; } = tokens;
    public TeacherTargets Targets { get; } = targets;
    public long Step => Source.Step;

    /// <summary>The loader batch these tensors hold (rows' sequence ids and offsets); valid while this batch is.</summary>
    public Batch Source { get; } = source;

    public void Dispose()
    {
        if (owned is not null) foreach (var t in owned) t.Dispose();
        release?.Invoke();
    }
}

/// <summary>
/// Feeds <see cref="BatchLoader"/> batches to a device with no host copy after decoding. The loader's ring slots are
/// torch tensors (<see cref="TensorBatchMemory"/>), so the workers decode straight into torch's memory:
/// - on the CPU the slots hold the types the trainer consumes (int64 tokens, ids and counts, float32 probabilities and
///   residual) and are the batch (no copy at all); the slot goes back when the batch is disposed;
/// - on CUDA the slots are page-locked, with int32 index columns (half the bytes over the bus; widened to int64 on the
///   device), and each batch is copied, non-blocking, into one of two device buffers in
///   turn (double-buffered: batch n+1 is copied while the trainer may still hold batch n). A host slot returns to
///   the loader only once the device has finished with everything queued before the next batch is asked for, so
///   no worker overwrites memory a copy is still reading.
/// From an mvq store with <see cref="BlockValues.MvqCodes"/>, the batch carries M code bytes per position instead of K
/// probabilities (and escaped positions as a list); <see cref="MvqDeviceDecoder"/> rebuilds the probabilities where the
/// trainer runs.
/// </summary>
public sealed class TorchBatchFeed : IDisposable
{
    private readonly BatchLoader _loader;
    private readonly Device _device;
    private readonly List<TensorBatchMemory> _slots = [];
    private readonly DeviceBuffers[] _deviceBuffers = [];
    private readonly MvqDeviceDecoder? _decoder;
    private long _positions, _bytesMoved;
    private Batch? _inFlight;
    private int _next;

    public TorchBatchFeed(StoreReader store, BatchLoaderOptions options, Device device)
    {
        _device = device;
        bool cuda = device.type == DeviceType.CUDA;
        _loader = new BatchLoader(store, options with
        {
            IndexType = cuda ? BatchIndexType.Int32 : BatchIndexType.Int64,
            Memory = layout =>
            {
                var slot = new TensorBatchMemory(layout, pageLocked: cuda);
                lock (_slots) _slots.Add(slot);
                return slot;
            },
        });
        Layout = _loader.Layout;
        if (Layout.MvqCodebooks > 0) _decoder = new MvqDeviceDecoder(store.Codebooks.Single(), device);
        if (cuda) _deviceBuffers = [new DeviceBuffers(Layout, device), new DeviceBuffers(Layout, device)];
    }

    public BatchLayout Layout { get; }

    /// <summary>Batches per epoch for this rank.</summary>
    public long StepsPerEpoch => _loader.StepsPerEpoch;

    /// <summary>
    /// Bytes per position the batches so far moved to the device: every column, escape lists as far as filled (on the
    /// CPU nothing moves, and this is what would).
    /// </summary>
    public double BytesPerPosition => _positions == 0 ? Layout.BytesPerPosition() : _bytesMoved / (double)_positions;

    public DeviceBatch Next()
    {
        if (_device.type != DeviceType.CUDA)
        {
            var b = _loader.Next();
            Count(b);
            var slot = (TensorBatchMemory)b.Memory;
            return Assemble(b, c => slot[c], () => _loader.Release(b));
        }
        ReturnInFlightSlot();
        var batch = _loader.Next();
        Count(batch);
        var host = (TensorBatchMemory)batch.Memory;
        var d = _deviceBuffers[_next];
        _next ^= 1;
        using (NewDisposeScope())
            foreach (var c in BatchLayout.Columns)
            {
                if (Layout.Bytes(c) == 0) continue;
                if (c is not (BatchColumn.EscapePositions or BatchColumn.EscapeCodes)) d[c].copy_(host[c], true);
                else if (batch.EscapeCount > 0) d[c][..batch.EscapeCount].copy_(host[c][..batch.EscapeCount], true);
            }
        _inFlight = batch;
        return Assemble(batch, c => d[c], null);
    }

    private void Count(Batch b)
    {
        _positions += Layout.Positions;
        _bytesMoved += (long)Math.Round(Layout.BytesPerPosition(b.EscapeCount) * Layout.Positions);
    }

    private DeviceBatch Assemble(Batch b, Func<BatchColumn, Tensor> column, Action? release)
    {
        using var scope = NewDisposeScope(); // views and intermediates; what the batch keeps is detached into owned
        var owned = new List<Tensor>();
        Tensor Index(BatchColumn c)
        {
            if (Layout.IndexType == BatchIndexType.Int64) return column(c);
            var wide = column(c).to_type(ScalarType.Int64).DetachFromDisposeScope();
            owned.Add(wide);
            return wide;
        }
        var counts = Index(BatchColumn.KeptCounts);
        var probs = column(BatchColumn.Probs);
        if (_decoder is not null)
            using (no_grad())
            {
                probs = _decoder.Decode(column(BatchColumn.MvqCodes), counts, column(BatchColumn.EscapePositions)[..b.EscapeCount],
                    column(BatchColumn.EscapeCodes)[..b.EscapeCount], Layout.K).DetachFromDisposeScope();
                owned.Add(probs);
            }
        var targets = new TeacherTargets(Index(BatchColumn.Ids), probs, counts, column(BatchColumn.Residual));
        return new DeviceBatch(b, Index(BatchColumn.Tokens), targets, release, owned);
    }

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
        _decoder?.Dispose();
    }

    private sealed class DeviceBuffers : IDisposable
    {
        private readonly Tensor[] _tensors;

        public DeviceBuffers(BatchLayout layout, Device device) =>
            _tensors = BatchLayout.Columns.Select(c =>
                empty(layout.Shape(c), TensorBatchMemory.TypeOf(layout, c), device).DetachFromDisposeScope()).ToArray();

        public Tensor this[BatchColumn column] => _tensors[(int)column];

        public void Dispose()
        {
            foreach (var t in _tensors) t.Dispose();
        }
    }
}
