using System.Diagnostics;

namespace LogitStore.Tests.Cli;

/// <summary>
/// <c>./logitstore</c> builds the CLI only when a source or project file is newer than its DLL: build outputs under
/// <c>bin/</c> and <c>obj/</c> (the native build generates .cs files there) never trigger a build.
/// </summary>
public class LauncherTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "logitstore")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
                return dir.FullName;
        throw new InvalidOperationException("the launcher was not found above the test's directory");
    }

    /// <summary>
    /// A copy of the launcher in a tree of its own, with a built DLL and a <c>dotnet</c> that only logs how it was called.
    /// </summary>
    private sealed class LauncherTree : IDisposable
    {
        public readonly string Root = TestData.TempDir();
        private readonly DateTime _built = DateTime.UtcNow.AddMinutes(-10);

        public LauncherTree()
        {
            File.Copy(Path.Combine(RepositoryRoot(), "logitstore"), Path.Combine(Root, "logitstore"));
            foreach (string f in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
                Write(f, "<Project />", _built.AddMinutes(-1));
            Write("src/LogitStore/StoreReader.cs", "// source", _built.AddMinutes(-1));
            Write("src/LogitStore.Cli/bin/Release/net10.0/LogitStore.Cli.dll", "", _built);
            Write("bin/dotnet", "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/calls\"\n", _built);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(Root, "bin/dotnet"), (UnixFileMode)0b111_101_101);
        }

        public void Write(string relative, string text, DateTime modified)
        {
            string path = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            File.SetLastWriteTimeUtc(path, modified);
        }

        /// <summary>Runs <c>./logitstore --version</c> and returns the fake dotnet's calls.</summary>
        public async Task<string[]> RunAsync()
        {
            string calls = Path.Combine(Root, "bin", "calls");
            File.Delete(calls);
            var psi = new ProcessStartInfo(Path.Combine(Root, "logitstore"), "--version") { RedirectStandardError = true };
            psi.Environment["PATH"] = Path.Combine(Root, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
            using var p = Process.Start(psi)!;
            string stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, stderr);
            return File.ReadAllLines(calls);
        }

        public void Dispose() => Directory.Delete(Root, true);
    }

    [Fact]
    public async Task GeneratedFilesUnderObjAndBin_DoNotTriggerABuild()
    {
        using var tree = new LauncherTree();
        tree.Write("src/LogitStore.Native/obj/Release/net10.0/Generated.g.cs", "// generated", DateTime.UtcNow);
        tree.Write("src/LogitStore/bin/Release/net10.0/Other.cs", "// copied", DateTime.UtcNow);
        string call = Assert.Single(await tree.RunAsync());
        Assert.EndsWith("LogitStore.Cli.dll --version", call);
    }

    [Theory]
    [InlineData("src/LogitStore/StoreReader.cs")]
    [InlineData("src/LogitStore/LogitStore.csproj")]
    [InlineData("Directory.Packages.props")]
    public async Task ANewerSourceOrProjectFile_RebuildsFirst(string changed)
    {
        using var tree = new LauncherTree();
        tree.Write(changed, "// changed", DateTime.UtcNow);
        var calls = await tree.RunAsync();
        Assert.Equal(2, calls.Length);
        Assert.StartsWith("build ", calls[0]);
        Assert.EndsWith("LogitStore.Cli.dll --version", calls[1]);
    }
}
