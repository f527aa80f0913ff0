using System.CommandLine;
using LogitStore.Processing;
using LogitStore.Studies.Experiments;

namespace LogitStore.Cli;

/// <summary><c>logitstore experiment offline-vs-online</c>: the offline-versus-online student study, in one command.</summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var d = new OfflineVsOnlineOptions();
        var corpus = new Option<string>("--corpus") { DefaultValueFactory = _ => d.Corpus };
        var outOpt = new Option<string>("--out")
        {
            Description = "report directory (report.md, results.json, curves.png, runs/)",
            DefaultValueFactory = _ => d.Output,
        };
        var work = new Option<string>("--work")
        {
            Description = "teacher and stores; reused when already there",
            DefaultValueFactory = _ => d.Work,
        };
        var arms = new Option<string>("--arms")
        {
            Description = "core | all | a comma list (lm, offline, online, recorded-early-a0.9, ..., offline-tau2, pd-star)",
            DefaultValueFactory = _ => d.Arms,
        };
        var seeds = new Option<int>("--seeds") { DefaultValueFactory = _ => d.Seeds };
        var teacherPreset = new Option<string>("--teacher-preset") { DefaultValueFactory = _ => d.TeacherPreset };
        var studentPreset = new Option<string>("--student-preset") { DefaultValueFactory = _ => d.StudentPreset };
        var tokens = new Option<long>("--corpus-tokens")
        {
            Description = "tokens of the corpus the teacher and students train on",
            DefaultValueFactory = _ => d.CorpusTokens,
        };
        var seq = new Option<int>("--seq-len") { DefaultValueFactory = _ => d.SequenceLength };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => d.BatchSize };
        var epochs = new Option<int>("--teacher-epochs") { DefaultValueFactory = _ => d.TeacherEpochs };
        var steps = new Option<int>("--student-steps") { DefaultValueFactory = _ => d.StudentSteps };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => d.EvalEvery };
        var genre = new Option<char>("--ood-genre")
        {
            Description = "Brown genre letter held out entirely",
            DefaultValueFactory = _ => d.OodGenre,
        };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => d.Device };
        var ovo = new Command(
            "offline-vs-online",
            "teacher with recorded online logits, offline store, students in every arm over seeds; Markdown + JSON + PNG report")
        {
            corpus, outOpt, work, arms, seeds, teacherPreset, studentPreset, tokens, seq, batch, epochs, steps, evalEvery, genre, device,
        };
        ovo.SetAction(async (r, ct) =>
        {
            var o = new OfflineVsOnlineOptions
            {
                Corpus = r.GetValue(corpus)!, Output = r.GetValue(outOpt)!, Work = r.GetValue(work)!, Arms = r.GetValue(arms)!,
                Seeds = r.GetValue(seeds),
                TeacherPreset = r.GetValue(teacherPreset)!, StudentPreset = r.GetValue(studentPreset)!, CorpusTokens = r.GetValue(tokens),
                SequenceLength = r.GetValue(seq), BatchSize = r.GetValue(batch), TeacherEpochs = r.GetValue(epochs),
                StudentSteps = r.GetValue(steps),
                EvalEvery = r.GetValue(evalEvery), OodGenre = r.GetValue(genre), Device = r.GetValue(device)!,
                CommandLine = "logitstore " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            };
            var study = await OfflineVsOnlineExperiment.RunAsync(o, Console.WriteLine, ct);
            Console.WriteLine($"{study.Runs.Count} runs -> {Path.Combine(o.Output, "report.md")}");
            return 0;
        });
        return new Command("experiment", "studies that train students") { ovo };
    }
}
