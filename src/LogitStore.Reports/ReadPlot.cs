using ScottPlot;

namespace LogitStore.Reports;

/// <summary>The read benchmark as a PNG: one horizontal bar per measured path, millions of positions/s, bytes/token in the label.</summary>
internal static class ReadPlot
{
    public static void Save(string path, IReadOnlyList<ReadRow> rows)
    {
        var plot = new Plot();
        var ticks = new List<Tick>();
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[rows.Count - 1 - i]; // first row on top
            var bar = plot.Add.Bar(new Bar { Position = i, Value = r.PositionsPerSecond / 1e6, Orientation = Orientation.Horizontal });
            bar.Color = r.Path.Contains("LogitStore") || r.Path.StartsWith("batch loader") || r.Path.StartsWith("block decode")
                || r.Path.StartsWith("random")
                ? Colors.SteelBlue : Colors.Gray;
            ticks.Add(new Tick(i, $"{r.Path} ×{r.Threads} ({r.BytesPerToken:F0} B/token)"));
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Margins(left: 0);
        plot.Title("read throughput into the dense batch layout (hot page cache)");
        plot.XLabel("million positions / s");
        plot.SavePng(path, 1200, 80 + 48 * rows.Count);
    }
}
