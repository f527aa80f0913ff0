using LogitStore.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>
/// A loader ring slot made of host torch tensors, page-locked when they feed a CUDA device: the loader's workers
/// decode straight into the tensors' memory, so the batch is torch's without a copy. The tensors' storage never
/// moves, so each column's address is taken once; this is the one place that turns a tensor into a span.
/// </summary>
public sealed class TensorBatchMemory : BatchMemory, IDisposable
{
    private readonly Tensor[] _tensors;
    private readonly IntPtr[] _addresses;

    public TensorBatchMemory(BatchLayout layout, bool pageLocked) : base(layout)
    {
        _tensors = new Tensor[BatchLayout.Columns.Length];
        _addresses = new IntPtr[_tensors.Length];
        foreach (var c in BatchLayout.Columns)
        {
            var type = TypeOf(layout, c);
            var t = zeros(layout.Shape(c), type).DetachFromDisposeScope();
            if (pageLocked && layout.Bytes(c) > 0)
            {
                var locked = t.pin_memory().DetachFromDisposeScope();
                t.Dispose();
                t = locked;
            }
            _tensors[(int)c] = t;
            if (layout.Bytes(c) > 0) _addresses[(int)c] = DataAddress(t);
            checked { _ = (int)layout.Bytes(c); }
        }
    }

    /// <summary>The torch dtype of a batch column.</summary>
    public static ScalarType TypeOf(BatchLayout layout, BatchColumn column) => layout.ElementSize(column) switch
    {
        1 => ScalarType.Byte,
        _ when column is BatchColumn.Probs or BatchColumn.Residual => ScalarType.Float32,
        8 => ScalarType.Int64,
        _ => ScalarType.Int32,
    };

    /// <summary>Address of a contiguous host tensor's first element.</summary>
    public static IntPtr DataAddress(Tensor t)
    {
        if (!t.is_contiguous() || t.device_type != DeviceType.CPU) throw new ArgumentException("a contiguous host tensor is needed");
        return t.dtype switch
        {
            ScalarType.Int64 => t.storage<long>().data_ptr(),
            ScalarType.Int32 => t.storage<int>().data_ptr(),
            ScalarType.Float32 => t.storage<float>().data_ptr(),
            ScalarType.Byte => t.storage<byte>().data_ptr(),
            _ => throw new ArgumentException($"no batch column has dtype {t.dtype}"),
        } + (nint)(t.storage_offset() * t.ElementSize);
    }

    public Tensor this[BatchColumn column] => _tensors[(int)column];

    public override unsafe Span<byte> Column(BatchColumn column) =>
        Layout.Bytes(column) == 0 ? default : new((void*)_addresses[(int)column], (int)Layout.Bytes(column));

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
    }
}
