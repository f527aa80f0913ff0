using LogitStore.Codecs.Mvq;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>
/// Rebuilds a batch's [B, T, K] probabilities from mvq codes with torch ops on the training device (spec 5.9):
/// per coded position, the M codebooks' centroids at its indexes are summed into the log-ratios y_j = log(p_{j+1} / p_0),
/// made non-increasing (a running minimum), clamped to [−log floor, 0], exponentiated and renormalised with p_0's 1;
/// a position with one entry is certain; escaped positions decode their q8 codes (weight exp(−code · step), renormalised).
/// Equal to <see cref="Codecs.MvqValueCodec"/>'s host decoder within float rounding.
/// </summary>
public sealed class MvqDeviceDecoder : IDisposable
{
    private readonly Tensor _centroids;   // [M, 256, D]
    private readonly Tensor _escapeWeights; // [256]
    private readonly MvqCodebooks _books;

    public MvqDeviceDecoder(MvqCodebooks books, Device device)
    {
        _books = books;
        var c = new float[books.M * MvqCodebooks.Centroids * books.D];
        for (int m = 0, i = 0; m < books.M; m++)
            for (int k = 0; k < MvqCodebooks.Centroids; k++)
                for (int j = 0; j < books.D; j++)
                    c[i++] = books.Centroid(m, k, j);
        _centroids = tensor(c, [books.M, MvqCodebooks.Centroids, books.D]).to(device).DetachFromDisposeScope();
        var w = Enumerable.Range(0, 256).Select(books.EscapeWeight).ToArray();
        _escapeWeights = tensor(w).to(device).DetachFromDisposeScope();
    }

    /// <param name="codes">[B, T, M] codebook indexes (uint8).</param>
    /// <param name="keptCounts">[B, T] entries per position.</param>
    /// <param name="escapePositions">[E] flat indexes (b·T + t) of escaped positions.</param>
    /// <param name="escapeCodes">[E, K] their q8 codes.</param>
    /// <returns>[B, T, K] probabilities, zero past each position's kept count.</returns>
    public Tensor Decode(Tensor codes, Tensor keptCounts, Tensor escapePositions, Tensor escapeCodes, int k)
    {
        using var scope = NewDisposeScope();
        long b = codes.shape[0], t = codes.shape[1];
        int m = _books.M, d = Math.Min(_books.D, k - 1);
        var flat = codes.reshape(b * t, m).to_type(ScalarType.Int64);
        var y = _centroids[0].index_select(0, flat[.., 0]);
        for (int c = 1; c < m; c++) y = y + _centroids[c].index_select(0, flat[.., c]);
        y = y[.., ..d];
        y = y.cummin(1).values.clamp(-_books.LogFloor, 0f).exp();
        var counts = keptCounts.reshape(b * t, 1).to_type(ScalarType.Int64);
        var j = arange(d, ScalarType.Int64, codes.device).unsqueeze(0);
        y = y * (j < counts - 1).to_type(ScalarType.Float32);
        var p = cat([ones(b * t, 1, ScalarType.Float32, codes.device), y], 1);
        if (k - 1 > d) p = nn.functional.pad(p, [0, k - 1 - d]);
        p = p / p.sum(1, keepdim: true);
        p = p * (counts > 0).to_type(ScalarType.Float32);
        if (escapePositions.shape[0] > 0)
        {
            var rows = escapePositions.to_type(ScalarType.Int64);
            var q = _escapeWeights.index_select(0, escapeCodes.reshape(-1).to_type(ScalarType.Int64)).reshape(-1, k);
            var entries = arange(k, ScalarType.Int64, codes.device).unsqueeze(0);
            q = q * (entries < counts.index_select(0, rows)).to_type(ScalarType.Float32);
            q = q / q.sum(1, keepdim: true);
            p = p.index_copy(0, rows, q);
        }
        return p.reshape(b, t, k).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _centroids.Dispose();
        _escapeWeights.Dispose();
    }
}
