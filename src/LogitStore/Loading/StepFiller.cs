namespace LogitStore.Loading;

/// <summary>
/// Fills whole steps on one thread: plans a step's rows (<see cref="BatchPlan"/>) and assembles them
/// (<see cref="BatchAssembler"/>), with that thread's own epoch order, planned rows and decode buffers.
/// </summary>
internal sealed class StepFiller(BatchPlan plan, BatchAssembler assembler)
{
    private readonly EpochOrder _order = plan.NewEpochOrder();
    private readonly PlannedRow[] _rows = new PlannedRow[plan.BatchSize];
    private readonly AssemblyScratch _scratch = assembler.NewScratch();

    /// <summary>Step <paramref name="step"/>'s batch into <paramref name="memory"/>; returns the escaped positions listed.</summary>
    public int Fill(long step, BatchMemory memory, Span<ulong> rowSequence, Span<int> rowOffset)
    {
        plan.RowsOf(step, _rows, _order);
        return assembler.Assemble(_rows, memory, rowSequence, rowOffset, _scratch);
    }
}
