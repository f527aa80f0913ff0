using LogitStore.Format;

namespace LogitStore.Tests.Architecture;

/// <summary>
/// The core's layers point one way: Processing and Format at the bottom, then Codecs, Reading, Writing, and the
/// sources, the loader and the measurements on top (docs/architecture.md). A type that uses a namespace its layer may
/// not use is a back edge, and fails here by name.
/// </summary>
public class LayerTests
{
    private const string Root = "LogitStore";

    /// <summary>Each layer of the core and the layers it may use (besides itself and the root namespace).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> MayUse = new Dictionary<string, string[]>
    {
        [Root] = [],
        ["LogitStore.Processing"] = [],
        ["LogitStore.Format"] = ["LogitStore.Processing"],
        ["LogitStore.Codecs"] = ["LogitStore.Processing", "LogitStore.Format"],
        ["LogitStore.Reading"] = ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs"],
        ["LogitStore.Writing"] = ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading"],
        ["LogitStore.Loading"] = ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading"],
        ["LogitStore.Synthetic"] =
            ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading", "LogitStore.Writing"],
        ["LogitStore.Ingest"] =
            ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading", "LogitStore.Writing"],
        ["LogitStore.Fidelity"] =
            ["LogitStore.Processing", "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading", "LogitStore.Synthetic"],
        ["LogitStore.Hosting"] = ["LogitStore.Writing"],
    };

    [Fact]
    public void TheCoresLayers_UseOnlyTheLayersBelowThem()
    {
        var violations = BackEdges(typeof(StoreDirectory).Assembly.GetTypes(), MayUse, Root);
        Assert.True(violations.Count == 0, "back edges in the core:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void EveryNamespaceOfTheCore_IsALayer()
    {
        var unplaced = typeof(StoreDirectory).Assembly.GetTypes()
            .Where(t => IsCoreType(t) && LayerOf(t.Namespace!, MayUse.Keys, Root) is null)
            .Select(t => $"{t.FullName} ({t.Namespace})")
            .ToList();
        Assert.True(unplaced.Count == 0, "namespaces with no layer (add them to MayUse):\n" + string.Join("\n", unplaced));
    }

    [Fact]
    public void FormatCodecsAndReading_NeverUseWriting()
    {
        foreach (string layer in new[] { "LogitStore.Format", "LogitStore.Codecs", "LogitStore.Reading" })
            Assert.DoesNotContain("LogitStore.Writing", MayUse[layer]);
    }

    [Fact]
    public void ABackEdge_IsFound_AndNamed()
    {
        // Sample types below: a "format" type that calls into a "writing" type, the edge the rules forbid.
        const string samples = "LogitStore.Tests.Architecture.Samples";
        var rules = new Dictionary<string, string[]>
        {
            [samples] = [],
            [$"{samples}.Format"] = [],
            [$"{samples}.Writing"] = [$"{samples}.Format"],
        };
        var types = typeof(LayerTests).Assembly.GetTypes().Where(t => t.Namespace?.StartsWith(samples) == true).ToArray();
        var violations = BackEdges(types, rules, samples);
        var edge = Assert.Single(violations);
        Assert.Contains("Samples.Format.SampleHeader", edge);
        Assert.Contains("Samples.Writing.SampleWriter", edge);
    }

    [Fact]
    public void TheCore_ReferencesNoOuterProjectAndNoPresentationLibrary()
    {
        var forbidden = new[] { "TorchSharp", "LogitStore.Torch", "LogitStore.Reports", "LogitStore.Studies", "LogitStore.Cli",
            "LogitStore.Interchange", "ScottPlot", "Spectre.Console", "System.CommandLine", "Parquet" };
        var references = typeof(StoreDirectory).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => forbidden.Any(f => r.StartsWith(f, StringComparison.Ordinal)));
    }

    [Fact]
    public void ThePublicTypes_AreTheOnesThisPageLists()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "LogitStore.sln"))) root = Path.GetDirectoryName(root)!;
        string page = File.ReadAllText(Path.Combine(root, "docs", "architecture.md"));
        string section = page[page.IndexOf("## Public API of the core", StringComparison.Ordinal)..];
        var listed = System.Text.RegularExpressions.Regex.Matches(section, @"^- `[\w.]+`: (.*?)(?=^- |\z)",
                System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.Singleline)
            .SelectMany(m => System.Text.RegularExpressions.Regex.Matches(m.Groups[1].Value, @"`(\w+)`").Select(t => t.Groups[1].Value))
            .ToHashSet();
        var exported = typeof(StoreDirectory).Assembly.GetExportedTypes().Where(t => !t.IsNested).Select(t => t.Name).ToHashSet();
        Assert.True(exported.SetEquals(listed),
            $"public but not listed: {string.Join(", ", exported.Except(listed).Order())}; " +
            $"listed but not public: {string.Join(", ", listed.Except(exported).Order())}");
    }

    /// <summary>"type uses type" lines for every use of a layer that the user's layer may not use.</summary>
    public static List<string> BackEdges(IEnumerable<Type> types, IReadOnlyDictionary<string, string[]> mayUse, string root)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in types.Where(t => t.Namespace is not null))
        {
            string? from = LayerOf(type.Namespace!, mayUse.Keys, root);
            if (from is null) continue;
            foreach (var used in TypeDependencies.Of(type))
            {
                if (used.Assembly != type.Assembly || used.Namespace is null) continue;
                string? to = LayerOf(used.Namespace, mayUse.Keys, root);
                if (to is null || to == from || to == root || mayUse[from].Contains(to)) continue;
                found.Add($"{Outermost(type).FullName} ({from}) uses {Outermost(used).FullName} ({to})");
            }
        }
        return found.ToList();
    }

    private static string? LayerOf(string ns, IEnumerable<string> layers, string root) =>
        layers.Where(l => l != root && (ns == l || ns.StartsWith(l + ".", StringComparison.Ordinal)))
            .OrderByDescending(l => l.Length)
            .FirstOrDefault() ?? (ns == root ? root : null);

    private static bool IsCoreType(Type t) =>
        t.Namespace is { } ns && (ns == Root || ns.StartsWith(Root + ".", StringComparison.Ordinal)) && !t.Name.StartsWith('<');

    private static Type Outermost(Type t)
    {
        while (t.DeclaringType is { } d) t = d;
        return t;
    }
}
