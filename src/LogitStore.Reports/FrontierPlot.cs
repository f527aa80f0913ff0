using ScottPlot;

namespace LogitStore.Reports;

/// <summary>The frontier as a PNG: value-column bytes/token against mean KL(truncated ‖ decoded), log scale.</summary>
internal static class FrontierPlot
{
    public static void Write(string path, IReadOnlyList<FrontierRow> rows, double klTarget)
    {
        var plot = new Plot();
        // KL of lossless codecs is 0; plot it at a floor so the log axis can show it.
        const double floor = 1e-9;
        foreach (var r in rows)
        {
            double y = Math.Log10(Math.Max(r.MeanKlKept, floor));
            var marker = plot.Add.Marker(r.ValueBytesPerToken, y);
            marker.MarkerSize = 10;
            var label = plot.Add.Text(r.Values, r.ValueBytesPerToken, y);
            label.LabelFontSize = 12;
            label.OffsetX = 6;
        }
        var target = plot.Add.HorizontalLine(Math.Log10(klTarget));
        target.LinePattern = LinePattern.Dashed;
        target.LegendText = $"target KL = {klTarget}";
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => $"1e{v:F0}",
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        plot.Axes.SetLimitsX(0, rows.Max(r => r.ValueBytesPerToken) * 1.12);
        plot.Title("top-k 50, synthetic teacher: value bytes/token vs fidelity");
        plot.XLabel("value column bytes / token");
        plot.YLabel("mean KL(truncated ‖ decoded), nats (log10)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 600);
    }
}
