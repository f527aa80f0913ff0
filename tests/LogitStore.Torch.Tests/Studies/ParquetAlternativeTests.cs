using LogitStore.Codecs;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Studies.Throughput;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Studies;

public class ParquetAlternativeTests
{
    [Theory]
    [InlineData(12)] // every kept entry
    [InlineData(5)]  // capped below the store's top-k
    public async Task ReadsBack_WhatTheLoaderDelivers(int k)
    {
        string dir = TestData.TempDir();
        try
        {
            // 20 sequences of 64 positions, top-p-k 0.95/12, lossless values: the loader (in order, K = 12) returns them exactly.
            await SyntheticPack.RunAsync(dir, new SyntheticSource(20 * 64, 3000, 64, 5, 32), new ProcessingOptions { TopK = 12 },
                new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 4 }, overwrite: true);
            using var store = StoreReader.Open(dir);
            var parquet = await ParquetAlternative.WriteAsync(store, Path.Combine(dir, "alt.parquet"), k);
            Assert.Equal(20 * 64, parquet.Positions);

            await using var reader = await ParquetAlternative.Reader.OpenAsync(parquet.Path);
            int n = (int)parquet.Positions;
            var tokens = new int[n];
            var ids = new int[n * k];
            var probs = new float[n * k];
            int at = 0;
            for (int g = 0; g < reader.RowGroupCount; g++) at += await reader.ReadGroupAsync(g, tokens, ids, probs, at, k);
            Assert.Equal(n, at);

            var scratch = new DecodedBlock();
            for (ulong s = 0; s < 20; s++)
            {
                var v = store.ReadSequence(store.FirstSequence + s, scratch);
                for (int t = 0; t < v.Length; t++)
                {
                    int row = (int)s * 64 + t, kept = Math.Min(k, v.KeptCounts[t]);
                    Assert.Equal(v.Tokens[t], tokens[row]);
                    for (int j = 0; j < k; j++)
                    {
                        Assert.Equal(j < kept ? v.IdsAt(t)[j] : 0, ids[row * k + j]);
                        Assert.Equal(j < kept ? v.ProbsAt(t)[j] : 0f, probs[row * k + j]);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
