using System.Reflection;

namespace LogitStore.Tests.Architecture;

/// <summary>
/// The projects depend one way (docs/architecture.md): the core on none of them; Torch, Interchange and Reports on the
/// core at most; Studies on those; the CLI on everything. Checked on the built assemblies' references.
/// </summary>
public class ProjectGraphTests
{
    public static TheoryData<string, string[]> MayNotReference => new()
    {
        { "LogitStore", ["LogitStore.Torch", "LogitStore.Interchange", "LogitStore.Reports", "LogitStore.Studies", "LogitStore.Cli",
            "TorchSharp"] },
        { "LogitStore.Torch", ["LogitStore.Interchange", "LogitStore.Reports", "LogitStore.Studies", "LogitStore.Cli"] },
        { "LogitStore.Interchange", ["LogitStore.Torch", "LogitStore.Reports", "LogitStore.Studies", "LogitStore.Cli", "TorchSharp"] },
        { "LogitStore.Reports", ["LogitStore", "LogitStore.Torch", "LogitStore.Interchange", "LogitStore.Studies", "LogitStore.Cli",
            "TorchSharp"] },
        { "LogitStore.Studies", ["LogitStore.Cli"] },
    };

    [Theory]
    [MemberData(nameof(MayNotReference))]
    public void AProject_ReferencesNoneOfTheProjectsAboveIt(string project, string[] forbidden)
    {
        var references = Assembly.Load(project).GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => forbidden.Contains(r));
    }
}
