using System.CommandLine;
using LogitStore.Cli;

var root = new RootCommand("logitstore: store a teacher's next-token distributions compressed and sharded, and serve them to training jobs")
{
    PackCommand.Create(),
    InspectCommand.Create(),
    VerifyCommand.Create(),
    DumpCommand.Create(),
    MergeCommand.Create(),
};
return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync());
