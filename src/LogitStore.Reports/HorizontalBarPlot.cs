using ScottPlot;

namespace LogitStore.Reports;

/// <summary>Labelled horizontal bars as a PNG, the first row on top: this library's paths in blue, the others grey.</summary>
public static class HorizontalBarPlot
{
    /// <summary>One bar: its tick label, its length in the x axis' unit, and whether it measures this library.</summary>
    public readonly record struct Row(string Label, double Value, bool Highlighted);

    public static void Save(string path, IReadOnlyList<Row> rows, string title, string xLabel, int width)
    {
        var plot = new Plot();
        var ticks = new List<Tick>();
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[rows.Count - 1 - i]; // first row on top
            var bar = plot.Add.Bar(new Bar { Position = i, Value = r.Value, Orientation = Orientation.Horizontal });
            bar.Color = r.Highlighted ? Colors.SteelBlue : Colors.Gray;
            ticks.Add(new Tick(i, r.Label));
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Margins(left: 0);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.SavePng(path, width, 80 + 48 * rows.Count);
    }
}
