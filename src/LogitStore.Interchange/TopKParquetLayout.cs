using System.Text.Json.Nodes;

namespace LogitStore.Interchange;

/// <summary>How a top-k Parquet dataset arranges one sequence (one row).</summary>
public enum TopKParquetShape
{
    /// <summary>Input ids, and per position a list of ids and a list of log-probabilities (DistillKit / HF datasets style).</summary>
    Lists,

    /// <summary>Input ids, and per position a [2, k] pair of lists, ids then log-probabilities, stacked as floats ([T, 2, k]).</summary>
    Stacked,
}

/// <summary>The columns of a top-k Parquet dataset, by name; the defaults are the names the common layouts use.</summary>
public sealed record TopKParquetLayout
{
    public TopKParquetShape Shape { get; init; } = TopKParquetShape.Lists;

    /// <summary>list&lt;int32|int64&gt;: the sequence's input token ids.</summary>
    public string InputIds { get; init; } = "input_ids";

    /// <summary>Lists: list&lt;list&lt;int32|int64&gt;&gt;, the kept ids of each position.</summary>
    public string Ids { get; init; } = "top_k_ids";

    /// <summary>Lists: list&lt;list&lt;float|double&gt;&gt;, their log-probabilities under the teacher (τ = 1).</summary>
    public string LogProbs { get; init; } = "top_k_logprobs";

    /// <summary>Stacked: list&lt;list&lt;list&lt;float|double&gt;&gt;&gt;, [T, 2, k]: ids (whole numbers), then log-probs.</summary>
    public string Targets { get; init; } = "targets";

    /// <summary>The columns this shape reads, with the list nesting of each.</summary>
    public IReadOnlyList<(string Name, int Depth)> Columns => Shape == TopKParquetShape.Lists
        ? [(InputIds, 1), (Ids, 2), (LogProbs, 2)]
        : [(InputIds, 1), (Targets, 3)];

    public static TopKParquetShape ParseShape(string name) => name switch
    {
        "lists" => TopKParquetShape.Lists,
        "stacked" => TopKParquetShape.Stacked,
        _ => throw new ArgumentException($"unknown Parquet layout '{name}' (lists, stacked)"),
    };

    public static string ShapeName(TopKParquetShape shape) => shape == TopKParquetShape.Lists ? "lists" : "stacked";

    public JsonObject ToJson() => new()
    {
        ["layout"] = ShapeName(Shape), ["input_ids"] = InputIds, ["ids"] = Ids, ["logprobs"] = LogProbs, ["targets"] = Targets,
    };

    public static TopKParquetLayout FromJson(JsonObject o)
    {
        var d = new TopKParquetLayout();
        return new TopKParquetLayout
        {
            Shape = ParseShape((string?)o["layout"] ?? "lists"),
            InputIds = (string?)o["input_ids"] ?? d.InputIds, Ids = (string?)o["ids"] ?? d.Ids,
            LogProbs = (string?)o["logprobs"] ?? d.LogProbs, Targets = (string?)o["targets"] ?? d.Targets,
        };
    }
}

/// <summary>One row of a top-k dataset: a sequence's input ids and, per position, kept ids with their log-probabilities.</summary>
public sealed record TopKRow(int[] InputIds, int[][] Ids, float[][] LogProbs)
{
    /// <summary>Where the row was read; null for a row made in memory.</summary>
    public TopKRowOrigin? Origin { get; init; }
}

/// <summary>A row's place in a Parquet file: its row group and row, and the offset of the row group's first chunk.</summary>
public sealed record TopKRowOrigin(string File, long Offset, int RowGroup, int Row)
{
    public string Where => $"row group {RowGroup}, row {Row}";
}
