namespace LogitStore.Processing;

/// <summary>Accumulates positions of one sequence and produces a <see cref="SparseSequence"/>.</summary>
public sealed class SparseSequenceBuilder
{
    private readonly List<int> _tokens = new();
    private readonly List<int> _counts = new();
    private readonly List<int> _ids = new();
    private readonly List<float> _probs = new();
    private readonly List<float> _residual = new();

    public int Positions => _tokens.Count;

    public void AddPosition(int token, ReadOnlySpan<int> ids, ReadOnlySpan<float> probs, float residual)
    {
        _tokens.Add(token);
        _counts.Add(ids.Length);
        _ids.AddRange(ids);
        _probs.AddRange(probs);
        _residual.Add(residual);
    }

    public SparseSequence Build()
    {
        var s = new SparseSequence(_tokens.ToArray(), _counts.ToArray(), _ids.ToArray(), _probs.ToArray(), _residual.ToArray());
        Clear();
        return s;
    }

    public void Clear()
    {
        _tokens.Clear();
        _counts.Clear();
        _ids.Clear();
        _probs.Clear();
        _residual.Clear();
    }
}
