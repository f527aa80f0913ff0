using LogitStore.Processing;

namespace LogitStore.Codecs.Mvq;

/// <summary>How codebooks are fitted (spec 5.9 leaves it to the writer; README, "Codebooks").</summary>
internal sealed record MvqTrainingOptions
{
    public int Codebooks { get; init; } = 8;
    public int LloydIterations { get; init; } = 10;
    public int RefinePasses { get; init; } = 1;
    public int RefineIterations { get; init; } = 3;

    /// <summary>Vectors used for k-means++ seeding (the rest join in the Lloyd iterations).</summary>
    public int SeedingSample { get; init; } = 4096;

    public ulong Seed { get; init; } = 1;
    public float LogFloor { get; init; } = MvqCodebooks.DefaultLogFloor;
    public float EscapeKl { get; init; } = MvqCodebooks.DefaultEscapeKl;

    /// <summary>Dimensions D; 0 = the largest kept count in the sample minus one.</summary>
    public int Dimensions { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>What training measured, for logs and reports.</summary>
public sealed record MvqTrainingReport(
    int Vectors, int Dimensions, double[] WeightedErrorAfterStage, double WeightedErrorAfterRefine, TimeSpan Elapsed);

/// <summary>
/// Fits M codebooks by residual quantisation: for each codebook in turn, weighted k-means (k-means++ seeding,
/// Lloyd iterations) on what the previous codebooks left; then refinement passes that re-fit each codebook with
/// the others fixed, as MVQ does. Distances are Σ_j w_j (r_j − c_j)² with w_j = p_{j+1}, ≈ 2·KL.
/// Assignment runs on all cores through the same SIMD kernel as encoding.
/// The codebooks are a function of the positions and options alone, the same bits for any thread count: threads
/// share out only work whose result is each vector's own (seeding distances, assignment), and cluster sums run
/// cluster by cluster in vector order. Nor do they depend on the vector width of the CPU (<see cref="VectorKernels"/>);
/// what they take from the platform is <see cref="MathF.Log"/> of the log-ratios.
/// </summary>
internal static class MvqTrainer
{
    private const int K = MvqCodebooks.Centroids;

    /// <summary>
    /// Trains on the kept probabilities of <paramref name="positions"/> (rank order); positions with fewer than 2 entries are skipped.
    /// </summary>
    public static (MvqCodebooks Codebooks, MvqTrainingReport Report) Train(IReadOnlyList<float[]> positions, MvqTrainingOptions options)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int m = options.Codebooks;
        if (m is < 1 or > MvqCodebooks.MaxCodebooks)
            throw new ArgumentOutOfRangeException(nameof(options), m, $"codebooks must be 1..{MvqCodebooks.MaxCodebooks}");
        int maxKept = 0;
        foreach (var p in positions) maxKept = Math.Max(maxKept, p.Length);
        int d = options.Dimensions > 0 ? options.Dimensions : Math.Clamp(maxKept - 1, 1, MvqCodebooks.MaxDimensions);
        int stride = VectorKernels.PadToVector(d);

        // A provisional set only for its Prepare (log floor, D); centroids come below.
        var shape = new MvqCodebooks(1, d, new float[K * d], options.LogFloor, options.EscapeKl);
        var rows = new List<int>();
        var y = new List<float[]>();
        var w = new List<float[]>();
        var dims = new List<int>();
        foreach (var p in positions)
        {
            if (p.Length < 2) continue;
            var yi = new float[stride];
            var wi = new float[stride];
            int n = shape.Prepare(p, yi, wi);
            if (n < 0) continue;
            y.Add(yi);
            w.Add(wi);
            dims.Add(n);
        }
        int count = y.Count;
        if (count == 0) // nothing to learn from (every position keeps 0 or 1 entries): all-zero codebooks still decode
            return (
                new MvqCodebooks(m, d, new float[m * K * d], options.LogFloor, options.EscapeKl),
                new MvqTrainingReport(0, d, new double[m], 0, clock.Elapsed));

        var residual = new float[count][];
        for (int i = 0; i < count; i++) residual[i] = (float[])y[i].Clone();
        var centroids = new float[m][];            // [k * stride + j]
        var assign = new byte[m][];
        var stageError = new double[m];
        var rng = new SplitMix64(options.Seed, 0x5EED);
        var data = new TrainingData(w.ToArray(), dims.ToArray(), stride, d, options.Threads);

        for (int c = 0; c < m; c++)
        {
            centroids[c] = SeedKMeansPlusPlus(data, residual, options.SeedingSample, ref rng);
            assign[c] = new byte[count];
            stageError[c] = Lloyd(data, residual, centroids[c], assign[c], options.LloydIterations);
            for (int i = 0; i < count; i++) Subtract(residual[i], centroids[c], assign[c][i], stride);
        }

        double refined = stageError[^1];
        for (int pass = 0; pass < options.RefinePasses; pass++)
            for (int c = 0; c < m; c++)
            {
                for (int i = 0; i < count; i++) Add(residual[i], centroids[c], assign[c][i], stride);
                refined = Lloyd(data, residual, centroids[c], assign[c], options.RefineIterations);
                for (int i = 0; i < count; i++) Subtract(residual[i], centroids[c], assign[c][i], stride);
            }

        var body = new float[m * K * d];
        for (int c = 0; c < m; c++)
            for (int k = 0; k < K; k++)
                Array.Copy(centroids[c], k * stride, body, (c * K + k) * d, d);
        var set = new MvqCodebooks(m, d, body, options.LogFloor, options.EscapeKl);
        return (set, new MvqTrainingReport(count, d, stageError, refined, clock.Elapsed));
    }

    private sealed class TrainingData(float[][] weights, int[] dims, int stride, int d, int threads)
    {
        public float[][] W { get; } = weights;
        public int[] Dims { get; } = dims;
        public int Stride { get; } = stride;
        public int D { get; } = d;
        public int Threads { get; } = Math.Max(1, threads);
        public int Count => W.Length;
    }

    private static double Distance(float[] r, float[] w, int n, float[] centroids, int k, int stride)
    {
        double s = 0;
        int o = k * stride;
        for (int j = 0; j < n; j++)
        {
            double e = r[j] - centroids[o + j];
            s += w[j] * e * e;
        }
        return s;
    }

    /// <summary>Weighted k-means++ on a sample: each next centroid is drawn with probability ∝ its weighted squared distance.</summary>
    private static float[] SeedKMeansPlusPlus(TrainingData data, float[][] residual, int sampleSize, ref SplitMix64 rng)
    {
        int stride = data.Stride;
        var c = new float[K * stride];
        int n = Math.Min(data.Count, Math.Max(sampleSize, 4 * K));
        var sample = new int[n];
        for (int i = 0; i < n; i++) sample[i] = (int)((long)i * data.Count / n);
        var best = new double[n];
        int first = sample[(int)(rng.NextDouble() * n) % n];
        Array.Copy(residual[first], 0, c, 0, stride);
        for (int i = 0; i < n; i++) best[i] = Distance(residual[sample[i]], data.W[sample[i]], data.Dims[sample[i]], c, 0, stride);
        for (int k = 1; k < K; k++)
        {
            double total = 0;
            foreach (double b in best) total += b;
            int pick;
            if (total <= 0) pick = sample[(int)(rng.NextDouble() * n) % n];
            else
            {
                double u = rng.NextDouble() * total, acc = 0;
                int at = n - 1;
                for (int i = 0; i < n; i++) { acc += best[i]; if (acc >= u) { at = i; break; } }
                pick = sample[at];
            }
            Array.Copy(residual[pick], 0, c, k * stride, stride);
            int kk = k;
            Parallel.For(0, data.Threads, t =>
            {
                for (int i = t; i < n; i += data.Threads)
                {
                    double dist = Distance(residual[sample[i]], data.W[sample[i]], data.Dims[sample[i]], c, kk, stride);
                    if (dist < best[i]) best[i] = dist;
                }
            });
        }
        return c;
    }

    /// <summary>Lloyd iterations on one codebook; returns the mean weighted squared error after the last assignment.</summary>
    private static double Lloyd(TrainingData data, float[][] target, float[] centroids, byte[] assign, int iterations)
    {
        int stride = data.Stride, d = data.D, count = data.Count;
        double error = 0;
        for (int it = 0; it <= iterations; it++)
        {
            var errors = new double[count];
            error = Assign(data, target, centroids, assign, errors);
            if (it == iterations) break;
            // Update: per cluster and dimension, the weighted mean of its members. Each cluster's sums run over its
            // members in vector order, whichever thread takes the cluster: the sums, hence the codebooks, are the same
            // bits for any thread count and any scheduling.
            var (members, memberStart) = MembersByCluster(assign);
            var sums = new double[K * stride];
            var weights = new double[K * stride];
            Parallel.For(0, K, new ParallelOptions { MaxDegreeOfParallelism = data.Threads }, k =>
            {
                int o = k * stride;
                for (int x = memberStart[k]; x < memberStart[k + 1]; x++)
                {
                    int i = members[x];
                    var w = data.W[i];
                    var r = target[i];
                    for (int j = 0; j < data.Dims[i]; j++)
                    {
                        sums[o + j] += w[j] * r[j];
                        weights[o + j] += w[j];
                    }
                }
            });
            int reseed = 0;
            int[] worst = EmptyClusters(memberStart)
                ? Enumerable.Range(0, count).OrderByDescending(i => errors[i]).Take(K).ToArray()
                : [];
            for (int k = 0; k < K; k++)
            {
                if (memberStart[k + 1] == memberStart[k])
                {
                    // An empty cluster restarts at the currently worst-coded vector.
                    int i = worst[reseed++ % worst.Length];
                    Array.Copy(target[i], 0, centroids, k * stride, stride);
                    continue;
                }
                for (int j = 0; j < d; j++)
                    if (weights[k * stride + j] > 0) centroids[k * stride + j] = (float)(sums[k * stride + j] / weights[k * stride + j]);
            }
        }
        return error;
    }

    /// <summary>The vectors of each cluster in ascending order: those of cluster k are members[start[k] .. start[k + 1]).</summary>
    private static (int[] Members, int[] Start) MembersByCluster(byte[] assign)
    {
        var start = new int[K + 1];
        foreach (byte a in assign) start[a + 1]++;
        for (int k = 0; k < K; k++) start[k + 1] += start[k];
        var next = start[..K];
        var members = new int[assign.Length];
        for (int i = 0; i < assign.Length; i++) members[next[assign[i]]++] = i;
        return (members, start);
    }

    private static bool EmptyClusters(int[] start)
    {
        for (int k = 0; k < K; k++)
            if (start[k + 1] == start[k]) return true;
        return false;
    }

    /// <summary>
    /// Nearest centroid of every vector (weighted distance) via the SIMD kernel; per-vector errors into <paramref name="errors"/>.
    /// </summary>
    private static double Assign(TrainingData data, float[][] target, float[] centroids, byte[] assign, double[] errors)
    {
        int stride = data.Stride, d = data.D, count = data.Count;
        var t = new float[d * K];
        var t2 = new float[d * K];
        for (int k = 0; k < K; k++)
            for (int j = 0; j < d; j++)
            {
                float c = centroids[k * stride + j];
                t[j * K + k] = c;
                t2[j * K + k] = c * c;
            }
        Parallel.For(0, data.Threads, th =>
        {
            var a = new float[K];
            var g = new float[K];
            var wr = new float[stride];
            for (int i = th; i < count; i += data.Threads)
            {
                int n = data.Dims[i];
                var w = data.W[i];
                var r = target[i];
                double base0 = 0;
                for (int j = 0; j < n; j++) { wr[j] = w[j] * r[j]; base0 += w[j] * r[j] * r[j]; }
                VectorKernels.Gemv256(t2, w.AsSpan(0, n), a);
                VectorKernels.Gemv256(t, wr.AsSpan(0, n), g);
                int best = 0;
                float bestScore = float.PositiveInfinity;
                for (int k = 0; k < K; k++)
                {
                    float score = a[k] - 2 * g[k];
                    if (score < bestScore) { bestScore = score; best = k; }
                }
                assign[i] = (byte)best;
                errors[i] = Math.Max(0, base0 + bestScore);
            }
        });
        double sum = 0;
        foreach (double e in errors) sum += e;
        return sum / count;
    }

    private static void Subtract(float[] r, float[] c, int k, int stride) => VectorKernels.SubtractInPlace(r, c.AsSpan(k * stride, stride));

    private static void Add(float[] r, float[] c, int k, int stride) => VectorKernels.AddInPlace(r, c.AsSpan(k * stride, stride));
}
