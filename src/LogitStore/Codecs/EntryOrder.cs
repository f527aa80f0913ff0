namespace LogitStore.Codecs;

/// <summary>The two orders entries of a position can be stored in: rank order and ascending id order (spec 5.2).</summary>
public static class EntryOrder
{
    [ThreadStatic] private static Entry[]? t_scratch;

    /// <summary>True when the entries are in rank order: probability descending, then id ascending.</summary>
    public static bool IsRankOrdered(ReadOnlySpan<int> ids, ReadOnlySpan<float> probs)
    {
        for (int j = 1; j < ids.Length; j++)
        {
            float a = probs[j - 1], b = probs[j];
            if (a < b || (a == b && ids[j - 1] >= ids[j])) return false;
        }
        return true;
    }

    public static bool IsIdAscending(ReadOnlySpan<int> ids)
    {
        for (int j = 1; j < ids.Length; j++) if (ids[j - 1] >= ids[j]) return false;
        return true;
    }

    public static void SortByRank(Span<int> ids, Span<float> probs) => Sort(ids, probs, byId: false);

    public static void SortById(Span<int> ids, Span<float> probs) => Sort(ids, probs, byId: true);

    private static void Sort(Span<int> ids, Span<float> probs, bool byId)
    {
        int n = ids.Length;
        var s = t_scratch;
        if (s is null || s.Length < n) t_scratch = s = new Entry[Math.Max(n, 256)];
        var e = s.AsSpan(0, n);
        for (int j = 0; j < n; j++) e[j] = new Entry(ids[j], probs[j]);
        if (byId) e.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        else e.Sort(static (a, b) => a.Prob != b.Prob ? b.Prob.CompareTo(a.Prob) : a.Id.CompareTo(b.Id));
        for (int j = 0; j < n; j++)
        {
            ids[j] = e[j].Id;
            probs[j] = e[j].Prob;
        }
    }

    private readonly record struct Entry(int Id, float Prob);
}
