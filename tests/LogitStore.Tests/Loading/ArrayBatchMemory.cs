using LogitStore.Loading;

namespace LogitStore.Tests.Loading;

/// <summary>Caller-owned batch memory in managed arrays; <paramref name="tokensShortBy"/> makes the tokens column too short.</summary>
internal sealed class ArrayBatchMemory(BatchLayout layout, int tokensShortBy = 0) : BatchMemory(layout)
{
    private readonly byte[][] _columns =
        BatchLayout.Columns.Select(c => new byte[layout.Bytes(c) - (c == BatchColumn.Tokens ? tokensShortBy : 0)]).ToArray();

    public ulong[] RowSequence { get; } = new ulong[layout.Rows];
    public int[] RowOffset { get; } = new int[layout.Rows];

    public override Span<byte> Column(BatchColumn column) => _columns[(int)column];
}
