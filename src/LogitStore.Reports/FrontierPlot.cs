using ScottPlot;

namespace LogitStore.Reports;

/// <summary>The frontier as a PNG: bytes/token against mean KL(truncated ‖ decoded), log scale.</summary>
public static class FrontierPlot
{
    /// <summary>One marker: its label, bytes/token and mean KL.</summary>
    public readonly record struct Point(string Label, double BytesPerToken, double MeanKl);

    public static void Write(string path, IReadOnlyList<Point> points, double klTarget, string title, string xLabel)
    {
        var plot = new Plot();
        // KL of lossless codecs is 0; plot it at a floor so the log axis can show it.
        const double floor = 1e-9;
        foreach (var p in points)
        {
            double y = Math.Log10(Math.Max(p.MeanKl, floor));
            var marker = plot.Add.Marker(p.BytesPerToken, y);
            marker.MarkerSize = 10;
            var label = plot.Add.Text(p.Label, p.BytesPerToken, y);
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
        plot.Axes.SetLimitsX(0, points.Max(p => p.BytesPerToken) * 1.12);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("mean KL(truncated ‖ decoded), nats (log10)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 600);
    }
}
