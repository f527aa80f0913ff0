using BenchmarkDotNet.Attributes;
using LogitStore.Codecs.Mvq;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Benchmarks;

/// <summary>
/// MVQ kernels on synthetic top-k 50 positions, single thread: codebook training, position encode (by beam width)
/// and decode. Per-position figures come through OperationsPerInvoke.
/// </summary>
[MemoryDiagnoser]
public class MvqBenchmarks
{
    private const int Positions = 4096;
    private List<float[]> _positions = [];
    private MvqCodebooks _books = null!;
    private byte[][] _codes = [];
    private readonly float[] _decoded = new float[64 + 16];

    [Params(4, 8, 16)] public int Codebooks { get; set; } = 8;
    [Params(1, 4)] public int Beam { get; set; } = 4;

    [GlobalSetup]
    public void Setup()
    {
        _positions = MvqTrainingBenchmarks.SamplePositions();
        _books = MvqTrainer.Train(_positions, new MvqTrainingOptions { Codebooks = Codebooks, Threads = 1 }).Codebooks;
        _codes = _positions.Take(Positions).Select(p =>
        {
            var c = new byte[Codebooks];
            _books.Encode(p, c, Beam, out _);
            return c;
        }).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Positions)]
    public int Encode()
    {
        int escaped = 0;
        var codes = new byte[Codebooks];
        for (int i = 0; i < Positions; i++) if (!_books.Encode(_positions[i], codes, Beam, out _)) escaped++;
        return escaped;
    }

    [Benchmark(OperationsPerInvoke = Positions)]
    public float Decode()
    {
        float s = 0;
        for (int i = 0; i < Positions; i++)
        {
            _books.DecodePosition(_codes[i], _positions[i].Length, _decoded);
            s += _decoded[1];
        }
        return s;
    }
}

/// <summary>Codebook training on 16k positions (single thread), per position of the sample.</summary>
public class MvqTrainingBenchmarks
{
    /// <summary>16k top-k 50 positions of the synthetic teacher (V = 100,277), the sample every MVQ benchmark uses.</summary>
    internal static List<float[]> SamplePositions()
    {
        var teacher = new SyntheticTeacher(100_277, 1);
        var proc = new LogitsProcessor(new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 50 });
        var seqs = Enumerable.Range(0, 16).Select(i => teacher.Generate((ulong)i, 1024, proc)).ToList();
        return DictionaryTraining.Positions(seqs, 16 * 1024);
    }

    private List<float[]> _positions = [];

    [Params(8)] public int Codebooks { get; set; } = 8;

    [GlobalSetup]
    public void Setup()
    {
        _positions = MvqTrainingBenchmarks.SamplePositions();
    }

    [Benchmark(OperationsPerInvoke = 16 * 1024)]
    public int Train() => MvqTrainer.Train(_positions, new MvqTrainingOptions { Codebooks = Codebooks, Threads = 1 }).Codebooks.M;
}
