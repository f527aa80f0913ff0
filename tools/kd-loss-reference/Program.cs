// kd-loss-reference <store> <out.json>: the C# forward-KL KdLoss at tau 1 and 2 on step 0 of a loader over the store
// (B 2, T 16, K 8, seed 4) with student logits 3 sin(0.37 v + 1.3 t + 2.1 b), as JSON with the batch it used.
using System.Text.Json;
using LogitStore.Loading;
using LogitStore.Reading;
using LogitStore.Torch.Distillation;
using static TorchSharp.torch;

const int B = 2, T = 16, K = 8;
using var store = StoreReader.Open(args[0]);
using var loader = new BatchLoader(store, new BatchLoaderOptions
{
    BatchSize = B, SequenceLength = T, Width = K, Seed = 4, Workers = 1, RingSize = 1,
});
var batch = loader.Next();
int v = (int)store.VocabSize;
var logits = new float[B * T * v];
for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
        for (int i = 0; i < v; i++)
            logits[(b * T + t) * v + i] = (float)(3 * Math.Sin(0.37 * i + 1.3 * t + 2.1 * b));
var targets = new TeacherTargets(
    tensor(batch.Ids.ToArray(), [B, T, K]), tensor(batch.Probs.ToArray(), [B, T, K]), tensor(batch.KeptCounts.ToArray(), [B, T]),
    tensor(batch.Residual.ToArray(), [B, T]));
var studentLogits = tensor(logits, [B, T, v]);
var losses = new Dictionary<string, double>();
foreach (double tau in new[] { 1.0, 2.0 })
    losses[tau.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)] =
        KdLoss.Compute(studentLogits, targets, KdLossKind.ForwardKl, tau).to_type(ScalarType.Float64).item<double>();
using var output = File.Create(args[1]);
using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
w.WriteStartObject();
w.WriteString("definition", "KdLoss.Compute(ForwardKl), logits 3 sin(0.37 v + 1.3 t + 2.1 b), loader B 2 T 16 K 8 seed 4 step 0");
w.WriteStartArray("ids");
foreach (int x in batch.Ids) w.WriteNumberValue(x);
w.WriteEndArray();
w.WriteStartArray("probs");
foreach (float x in batch.Probs) w.WriteNumberValue(x);
w.WriteEndArray();
w.WriteStartArray("kept_counts");
foreach (int x in batch.KeptCounts) w.WriteNumberValue(x);
w.WriteEndArray();
w.WriteStartArray("residual");
foreach (float x in batch.Residual) w.WriteNumberValue(x);
w.WriteEndArray();
w.WriteStartObject("loss_by_temperature");
foreach (var (tau, loss) in losses) w.WriteNumber(tau, loss);
w.WriteEndObject();
w.WriteEndObject();
