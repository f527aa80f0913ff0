namespace LogitStore.Torch.Teacher;

/// <summary>
/// Where a teacher pack's time went (seconds of the producing thread; encoding runs beside it on the writer's pool),
/// and the memory it took: the process's peak resident set once the model was loaded and at the end, against the
/// weights' size on disk.
/// </summary>
public sealed record TeacherPackTiming(
    long Tokens, double Seconds, double Forward, double TopKAndTransfer, double HostProcessing, double WaitingForWriter,
    long PeakResidentBytes = 0, long WeightBytes = 0, long LoadedResidentBytes = 0)
{
    public double TokensPerSecond => Tokens / Seconds;

    /// <summary>
    /// The stage that took most of the producing thread's time: the forward, the softmax/top-k and copy to the host,
    /// the host's cut, or the wait for the encoders and the writer (encoding and I/O run beside the producer).
    /// </summary>
    public string Bound => new[]
    {
        (Forward, "teacher forward"), (TopKAndTransfer, "softmax/top-k + copy to host"), (HostProcessing, "host cut"),
        (WaitingForWriter, "encoders + I/O"),
    }.MaxBy(stage => stage.Item1).Item2;
}

/// <summary>A teacher pack against the bare forward over the same tokens (<see cref="TeacherPack.BenchmarkAsync"/>).</summary>
public sealed record TeacherPackBenchmark(
    long ForwardTokens, double ForwardSeconds, long ForwardPeakResidentBytes, TeacherPackTiming Pack, long StoreBytes)
{
    public double ForwardTokensPerSecond => ForwardTokens / ForwardSeconds;

    /// <summary>The pack's rate as a fraction of the bare forward's.</summary>
    public double Ratio => Pack.TokensPerSecond / ForwardTokensPerSecond;

    public double BytesPerToken => (double)StoreBytes / Pack.Tokens;
}
