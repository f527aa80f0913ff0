using System.Text;

namespace LogitStore.Reports;

/// <summary>Prose of a Markdown report, broken into lines so that the report's source reads as well as its rendering.</summary>
public static class Prose
{
    /// <summary>Width the prose of a report is broken at.</summary>
    public const int LineWidth = 120;

    /// <summary>A paragraph broken at spaces into lines of at most <see cref="LineWidth"/> characters (longer words stay whole).</summary>
    public static string Wrap(string text)
    {
        var sb = new StringBuilder();
        int line = 0;
        foreach (string word in text.Split(' '))
        {
            if (line > 0 && line + 1 + word.Length > LineWidth)
            {
                sb.Append('\n');
                line = 0;
            }
            else if (line > 0)
            {
                sb.Append(' ');
                line++;
            }
            sb.Append(word);
            line += word.Length;
        }
        return sb.ToString();
    }
}
