namespace LogitStore.Writing;

/// <summary>Part <c>Index</c> of <c>Count</c> in a partitioned pack: a contiguous slice of whole blocks.</summary>
public readonly record struct PartSpec(int Index, int Count)
{
    /// <summary>Parses <c>i/N</c>.</summary>
    public static PartSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int i) || !int.TryParse(parts[1], out int n) || n < 1 || i < 0 || i >= n)
            throw new SettingException("part", $"takes i/N with 0 <= i < N, got '{text}'");
        return new PartSpec(i, n);
    }

    /// <summary>The sequences of this part: block-aligned, so that merged parts keep every block but the last full.</summary>
    public (ulong First, ulong Count) Slice(ulong totalSequences, int sequencesPerBlock)
    {
        ulong spb = (ulong)sequencesPerBlock;
        ulong blocks = (totalSequences + spb - 1) / spb;
        ulong b0 = blocks * (ulong)Index / (ulong)Count, b1 = blocks * (ulong)(Index + 1) / (ulong)Count;
        ulong first = b0 * spb, end = Math.Min(b1 * spb, totalSequences);
        return (first, end > first ? end - first : 0);
    }

    public override string ToString() => $"{Index}/{Count}";
}
