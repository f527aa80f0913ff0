using System.Buffers.Binary;

namespace LogitStore.Studies.Frontier;

/// <summary>
/// Megatron-LM's offline-logits layout: per position the top K entries, each as the id's low 16 bits (uint16), its 17th
/// bit (a bool tensor, one byte per entry) and its log-probability under the full distribution (fp16); the tensors of a
/// batch are zstd-compressed and packed into tar files, modelled here as one zstd frame per block.
/// </summary>
public sealed class MegatronOfflineLayout : IComparisonLayout
{
    public string Name => "Megatron-LM offline logits";
    public string IdsLayout => "uint16 + 17th bit (bool byte)";
    public string ValuesLayout => "fp16 log-probabilities";

    public (byte[] Ids, byte[] Values) Encode(IReadOnlyList<SparseSequence> sequences, int k)
    {
        int positions = sequences.Sum(s => s.Length);
        int n = positions * k;
        var ids = new byte[3 * n];
        var values = new byte[2 * n];
        for (int i = 0; i < n; i++) BinaryPrimitives.WriteHalfLittleEndian(values.AsSpan(2 * i), Half.NegativeInfinity);
        int p = 0;
        foreach (var s in sequences)
        {
            int e = 0;
            for (int t = 0; t < s.Length; t++, p++)
            {
                int kept = s.KeptCounts[t];
                double keptMass = 1 - s.Residual[t];
                for (int j = 0; j < Math.Min(k, kept); j++)
                {
                    int id = s.Ids[e + j], at = p * k + j;
                    BinaryPrimitives.WriteUInt16LittleEndian(ids.AsSpan(2 * at), (ushort)id);
                    ids[2 * n + at] = (byte)(id >> 16);
                    BinaryPrimitives.WriteHalfLittleEndian(values.AsSpan(2 * at), (Half)Math.Log(s.Probs[e + j] * keptMass));
                }
                e += kept;
            }
        }
        return (ids, values);
    }

    public void Decode(ReadOnlySpan<byte> ids, ReadOnlySpan<byte> values, int positions, int k, Span<int> idsOut, Span<float> probsOut)
    {
        int n = positions * k;
        for (int p = 0; p < positions; p++)
        {
            float sum = 0;
            int at = p * k;
            for (int j = at; j < at + k; j++)
            {
                idsOut[j] = BinaryPrimitives.ReadUInt16LittleEndian(ids[(2 * j)..]) | (ids[2 * n + j] << 16);
                float prob = MathF.Exp((float)BinaryPrimitives.ReadHalfLittleEndian(values[(2 * j)..]));
                probsOut[j] = prob;
                sum += prob;
            }
            float scale = sum > 0 ? 1 / sum : 0;
            for (int j = at; j < at + k; j++) probsOut[j] *= scale;
        }
    }
}
