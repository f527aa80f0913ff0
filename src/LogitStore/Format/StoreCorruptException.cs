namespace LogitStore.Format;

/// <summary>A store, shard or stream violates the format: names the file, the byte offset and what was expected.</summary>
public sealed class StoreCorruptException : Exception
{
    public StoreCorruptException(string file, long offset, string problem)
        : base($"{file} @ offset {offset}: {problem}")
    {
        File = file;
        Offset = offset;
        Problem = problem;
    }

    public string File { get; }
    public long Offset { get; }
    public string Problem { get; }
}
