using System.IO.Hashing;
using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>Result of a full verification: every fault found (one per shard at most) and what was checked.</summary>
public sealed record VerifyReport(
    bool Complete, int Shards, long Blocks, ulong Sequences, ulong Positions, long Bytes, IReadOnlyList<StoreCorruptException> Faults)
{
    public bool Ok => Faults.Count == 0;
}

/// <summary>Full verification (spec 7): opens the store, re-hashes every shard file, and decodes every block.</summary>
public static class StoreVerifier
{
    public static VerifyReport Verify(string directory, Action<long>? onBytes = null)
    {
        var faults = new List<StoreCorruptException>();
        Manifest manifest;
        try
        {
            manifest = Manifest.Load(directory);
        }
        catch (StoreCorruptException ex)
        {
            return new VerifyReport(false, 0, 0, 0, 0, 0, [ex]);
        }
        long blocks = 0, bytes = 0;
        ulong seqs = 0, positions = 0;
        // Blocks that need a damaged dictionary cannot be decoded and say so; every other block is checked.
        var dictionaries = Codecs.StoreDictionaries.LoadIntact(directory, manifest, out var damagedDictionaries);
        faults.AddRange(damagedDictionaries);
        // A complete store owns exactly the files its manifest lists: one more is what an older manifest restored over a
        // newer commit would leave (spec 7). A partial store may hold a file a crash left between rename and commit.
        if (manifest.IsComplete)
            foreach (string file in new StoreDirectory(directory).UnlistedFiles(manifest))
                faults.Add(new StoreCorruptException(
                    file, 0, "file not listed by the complete store's manifest (was an older manifest put back over a newer commit?)"));
        var decoded = new DecodedBlock();
        ulong corpus = 0;
        bool corpusComplete = true;
        foreach (var entry in manifest.Shards)
        {
            try
            {
                using var shard = ShardReader.Open(directory, entry, manifest.VocabSize);
                // Decode every block first: a fault inside a block is then named precisely, not only as a file-hash mismatch.
                for (int b = 0; b < shard.Index.Count; b++)
                {
                    var encoded = decoded.EncodedOf((int)shard.Index[b].BlockLength);
                    shard.ReadBlock(b, encoded);
                    BlockDecoder.Decode(
                        encoded, shard.Index[b], manifest.VocabSize, shard.Path, decoded, verifyChecksum: true, dictionaries,
                        checkDistinctIds: true);
                    blocks++;
                    corpus += CorpusFingerprint.Of(decoded);
                    seqs += (ulong)decoded.SequenceCount;
                    positions += (ulong)decoded.PositionCount;
                }
                var hash = new XxHash3();
                const int chunk = 16 << 20;
                var chunkBytes = new byte[Math.Min(chunk, shard.Length)];
                for (long off = 0; off < shard.Length; off += chunk)
                {
                    int len = (int)Math.Min(chunk, shard.Length - off);
                    shard.Read(off, chunkBytes.AsSpan(0, len));
                    hash.Append(chunkBytes.AsSpan(0, len));
                    bytes += len;
                    onBytes?.Invoke(len);
                }
                string actual = Checksum.ToHex(hash.GetCurrentHashAsUInt64());
                if (actual != entry.Xxh3)
                    faults.Add(new StoreCorruptException(
                        shard.Path,
                        0,
                        $"file checksum {actual} differs from the manifest's {entry.Xxh3} " +
                        $"(bytes outside the checksummed structures changed)"));
            }
            catch (StoreCorruptException ex)
            {
                faults.Add(ex);
                corpusComplete = false;
            }
        }
        if (corpusComplete && StoreFingerprint.Recorded(manifest) is { } recorded && recorded.Corpus != corpus)
            faults.Add(new StoreCorruptException(
                new StoreDirectory(directory).ManifestPath, new ManifestLocator(File.ReadAllBytes(
                    new StoreDirectory(directory).ManifestPath)).Of("fingerprint"),
                $"fingerprint corpus {Checksum.ToHex(recorded.Corpus)} differs from the shards' tokens' {Checksum.ToHex(corpus)}"));
        return new VerifyReport(manifest.IsComplete, manifest.Shards.Count, blocks, seqs, positions, bytes, faults);
    }
}
