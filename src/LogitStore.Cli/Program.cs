using System.CommandLine;
using LogitStore.Cli;

// The pack sources 'pack --resume' can finish, by the manifest's source kind.
LogitStore.Synthetic.SyntheticPackSource.Register();
LogitStore.Ingest.StreamPackSource.Register();
LogitStore.Ingest.TeacherWriter.Register();
LogitStore.Torch.Teacher.TeacherPack.RegisterPackSource();
LogitStore.Interchange.ParquetPackSource.Register();

var root = new RootCommand("logitstore: store a teacher's next-token distributions compressed and sharded, and serve them to training jobs")
{
    PackCommand.Create(),
    InspectCommand.Create(),
    VerifyCommand.Create(),
    DumpCommand.Create(),
    MergeCommand.Create(),
    InterchangeCommands.Import(),
    InterchangeCommands.Export(),
    CodebookCommand.Create(),
    FidelityCommand.Create(),
    BenchCommand.Create(),
    TeacherCommand.Create(),
    TrainCommand.Create(),
    ExperimentCommand.Create(),
};
// Errors are rendered by CliErrors as one line with an exit code, not by the parser's stack-trace handler.
var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
    return CliErrors.ParseFailed(parsed.Errors.Select(e => e.Message));
return await CliErrors.RunAsync(() => parsed.InvokeAsync(invocation));
