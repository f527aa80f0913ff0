using ScottPlot;

namespace LogitStore.Reports;

/// <summary>
/// Cross-entropy (nats/token) against steps or store size as a 1000 × 650 PNG: curves, points with error bars, and
/// dashed levels for references such as a baseline arm.
/// </summary>
public sealed class LossPlot(string title, string xLabel)
{
    private readonly Plot _plot = new();

    /// <summary>A curve through (x, loss) points; without <paramref name="markerSize"/> the markers keep their default size.</summary>
    public void Curve(string label, double[] xs, double[] losses, float? markerSize = null)
    {
        var line = _plot.Add.Scatter(xs, losses);
        line.LegendText = label;
        if (markerSize is { } size) line.MarkerSize = size;
    }

    /// <summary>One point with an error bar of ± <paramref name="error"/>, both in the point's colour.</summary>
    public void Point(string label, double x, double loss, double error)
    {
        var point = _plot.Add.Scatter(new[] { x }, new[] { loss });
        point.LegendText = label;
        point.MarkerSize = 9;
        var bar = _plot.Add.ErrorBar(new[] { x }, new[] { loss }, new[] { error });
        bar.Color = point.Color;
    }

    /// <summary>A dashed horizontal line at a reference loss.</summary>
    public void Level(string label, double loss)
    {
        var line = _plot.Add.HorizontalLine(loss);
        line.LegendText = label;
        line.LinePattern = LinePattern.Dashed;
    }

    public void Save(string path)
    {
        _plot.Title(title);
        _plot.XLabel(xLabel);
        _plot.YLabel("cross-entropy, nats/token");
        _plot.ShowLegend(Alignment.UpperRight);
        _plot.SavePng(path, 1000, 650);
    }
}
