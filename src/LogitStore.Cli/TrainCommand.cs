using System.CommandLine;
using LogitStore.Torch.Distillation;

namespace LogitStore.Cli;

/// <summary><c>logitstore train</c>: a student with the LM loss, or distilled offline / online / from recorded online logits.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var d = new StudentTrainingOptions { Store = "" };
        var store = new Option<string>("--store")
        {
            Description = "store giving the data order and tokens (and, offline, the targets)",
            Required = true,
        };
        var mode = new Option<string>("--mode")
        {
            Description = "lm | offline | online | recorded-online",
            DefaultValueFactory = _ => "offline",
        };
        var teacher = new Option<string?>("--teacher") { Description = "online: teacher checkpoint run inside every step" };
        var recorded = new Option<string?>("--recorded") { Description = "recorded-online: store from 'teacher train --record-online'" };
        var heldOut = new Option<string?>("--held-out") { Description = "corpus whose held-out split measures the student" };
        var outOpt = new Option<string?>("--out") { Description = "student checkpoint directory" };
        var preset = new Option<string>("--preset") { DefaultValueFactory = _ => d.Preset };
        var steps = new Option<int>("--max-steps") { DefaultValueFactory = _ => d.MaxSteps };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => d.BatchSize };
        var seq = new Option<int>("--seq-len") { Description = "0: the store's sequence length" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => d.LearningRate };
        var schedule = new Option<string>("--schedule")
        {
            Description = $"learning rate: {Choice.Names<Torch.Teacher.LearningRateShape>()}",
            DefaultValueFactory = _ => Choice.Name(d.Schedule),
        };
        var alpha = new Option<double>("--alpha") { DefaultValueFactory = _ => d.Alpha };
        var alphaShape = new Option<string>("--alpha-schedule")
        {
            Description = Choice.Names<AlphaShape>(),
            DefaultValueFactory = _ => Choice.Name(d.AlphaShape),
        };
        var loss = new Option<string>("--kd-loss") { Description = "kl | reverse-kl | nll | mse", DefaultValueFactory = _ => "kl" };
        var tau = new Option<double>("--temperature")
        {
            Description = "KD temperature τ: softens the student and the stored teacher (p^(1/τ), renormalised); loss × τ²",
            DefaultValueFactory = _ => d.Temperature,
        };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => d.Seed };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => d.Device };
        var vocabFrom = new Option<string?>("--vocab-from")
        {
            Description = "a checkpoint whose output vocabulary the student takes (a teacher trained with --vocab corpus); " +
                "default: every id",
        };
        var width = new Option<int>("--width")
        {
            Description = "K of the [B, T, K] teacher batches; 0: the store's most entries per position",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "continue the student checkpoint in --out from its recorded step; refuses a store with another fingerprint",
        };
        var cmd = new Command("train", "train a student: LM only, or distilled from stored, online or recorded-online teacher logits")
        {
            store, mode, teacher, recorded, heldOut, outOpt, preset, steps, batch, seq, lr, schedule, alpha, alphaShape, loss, tau, seed,
            device, vocabFrom, width, resume,
        };
        cmd.SetAction((r, ct) =>
        {
            var o = new StudentTrainingOptions
            {
                Store = r.GetValue(store)!, Mode = StudentTrainer.ParseMode(r.GetValue(mode)!), Teacher = r.GetValue(teacher),
                EvalTeacher = r.GetValue(teacher), RecordedStore = r.GetValue(recorded),
                HeldOutCorpus = r.GetValue(heldOut), Output = r.GetValue(outOpt), Preset = r.GetValue(preset)!,
                MaxSteps = r.GetValue(steps),
                BatchSize = r.GetValue(batch), SequenceLength = r.GetValue(seq), LearningRate = r.GetValue(lr),
                Schedule = Choice.Parse<Torch.Teacher.LearningRateShape>(r.GetValue(schedule)!, "--schedule"), Alpha = r.GetValue(alpha),
                AlphaShape = Choice.Parse<AlphaShape>(r.GetValue(alphaShape)!, "--alpha-schedule"), Loss = KdLoss.Parse(r.GetValue(loss)!),
                Temperature = r.GetValue(tau),
                Seed = r.GetValue(seed), Device = r.GetValue(device)!,
                VocabularyFrom = r.GetValue(vocabFrom), Width = r.GetValue(width), Resume = r.GetValue(resume),
            };
            var result = StudentTrainer.Train(o, s =>
            {
                if (s.Step % 10 == 0 || s.HeldOutLoss is not null)
                    Console.WriteLine(
                        $"step {s.Step,6}  loss {s.Loss:F4}  lm {s.LmLoss:F4}  kd {s.KdLoss:F4}  α {s.Alpha:F2}  " +
                        $"{s.TokensPerSecond:N0} tokens/s" +
                        (s.HeldOutLoss is { } h ? $"  held-out {h:F4}" : ""));
            }, ct);
            Console.WriteLine(
                $"{o.Mode}: {result.Steps} steps, {result.Tokens:N0} tokens, {result.TokensPerSecond:N0} tokens/s, " +
                $"{1000 * result.SecondsPerStep:F1} ms/step, held-out loss {result.HeldOutLoss:F4}");
            return Task.FromResult(0);
        });
        return cmd;
    }
}
