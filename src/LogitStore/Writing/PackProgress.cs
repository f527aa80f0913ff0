namespace LogitStore.Writing;

/// <summary>Live counters of a running pack, for progress displays (read from any thread).</summary>
public sealed class PackProgress
{
    private long _totalPositions;
    private long _basePositions;
    private StoreWriter? _writer;

    public long TotalPositions => Interlocked.Read(ref _totalPositions);

    /// <summary>Positions written, including those committed before a resume.</summary>
    public long DonePositions => Interlocked.Read(ref _basePositions) + (Volatile.Read(ref _writer)?.WrittenPositions ?? 0);

    /// <summary>Notes from the writer (dictionary training), for the display to print when the pack ends.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Messages { get; } = new();

    public void Start(StoreWriter writer, long totalPositions, long alreadyDone)
    {
        writer.Log = Messages.Enqueue;
        Interlocked.Exchange(ref _totalPositions, totalPositions);
        Interlocked.Exchange(ref _basePositions, alreadyDone);
        Volatile.Write(ref _writer, writer);
    }
}
