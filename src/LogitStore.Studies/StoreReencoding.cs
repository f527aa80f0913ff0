using System.Diagnostics;
using LogitStore.Codecs;
using LogitStore.Fidelity;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Studies;

/// <summary>What decoding re-encoded blocks gives back, against the sequences they were encoded from (spec 6.1).</summary>
internal sealed record ReencodedFidelity(long Positions, double MeanKlKept, double MaxKlKept, double Top1Agreement);

/// <summary>
/// A store's first sequences re-encoded in memory with other codecs, in blocks as a pack writes them: their column sizes,
/// how fast they decode on one thread, and how far the decoded values are from the ones encoded.
/// </summary>
internal static class StoreReencoding
{
    /// <summary>The store's first sequences, up to the one that reaches <paramref name="positions"/> positions (0: all).</summary>
    public static List<SparseSequence> FirstSequences(StoreReader store, long positions)
    {
        var sequences = new List<SparseSequence>();
        long taken = 0;
        foreach (var block in store.ScanBlocks())
        {
            for (int i = 0; i < block.SequenceCount && (positions <= 0 || taken < positions); i++)
            {
                var s = block.Sequence(i).ToSparseSequence();
                sequences.Add(s);
                taken += s.Length;
            }
            if (positions > 0 && taken >= positions) break;
        }
        return sequences;
    }

    /// <summary>The leading sequences a pack trains its dictionaries on: whole sequences until the sample is reached.</summary>
    public static List<SparseSequence> DictionarySample(IReadOnlyList<SparseSequence> sequences, long positions)
    {
        var sample = new List<SparseSequence>();
        long taken = 0;
        foreach (var s in sequences)
        {
            if (taken >= positions) break;
            sample.Add(s);
            taken += s.Length;
        }
        return sample;
    }

    public static List<EncodedBlock> Encode(IReadOnlyList<SparseSequence> sequences, BlockCodecs codecs, uint vocab, int perBlock)
    {
        var blocks = new List<EncodedBlock>();
        var all = sequences as List<SparseSequence> ?? sequences.ToList();
        for (int i = 0; i < all.Count; i += perBlock)
            blocks.Add(BlockEncoder.Encode(all.GetRange(i, Math.Min(perBlock, all.Count - i)), (ulong)i, codecs, vocab));
        return blocks;
    }

    /// <summary>What the blocks add to a shard: their bytes and one index entry each.</summary>
    public static long RecordBytes(IEnumerable<EncodedBlock> blocks) =>
        blocks.Sum(b => (long)b.Bytes.Length + FormatConstants.BlockIndexEntrySize);

    /// <summary>Stored bytes of one column kind over the blocks (0 where the blocks have no such column).</summary>
    public static long ColumnBytes(IEnumerable<EncodedBlock> blocks, ColumnKind kind) =>
        blocks.Sum(b => FindColumn(b.Bytes, kind)?.StoredLength ?? 0L);

    public static ColumnDescriptor ColumnOf(byte[] block, ColumnKind kind) =>
        FindColumn(block, kind) ?? throw new InvalidOperationException($"no {kind} column");

    private static ColumnDescriptor? FindColumn(byte[] block, ColumnKind kind)
    {
        var header = BlockHeader.Read(block, "re-encoded", 0);
        for (int c = 0; c < header.ColumnCount; c++)
        {
            var d = ColumnDescriptor.Read(block.AsSpan(ColumnDescriptor.OffsetInBlock(c)), "re-encoded", 0);
            if (d.Kind == kind) return d;
        }
        return null;
    }

    private static BlockIndexEntry EntryOf(EncodedBlock b) =>
        new(0, (uint)b.Bytes.Length, (uint)b.SequenceCount, b.FirstSequence, (uint)b.PositionCount, (uint)b.EntryCount);

    /// <summary>Whole blocks decoded on one thread (checksum, zstd, every column): best positions/s of the passes.</summary>
    public static double BlockDecodeRate(IReadOnlyList<EncodedBlock> blocks, uint vocab, StoreDictionaries dictionaries, int repeats)
    {
        var dest = new DecodedBlock();
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long positions = 0;
            var clock = Stopwatch.StartNew();
            foreach (var b in blocks)
            {
                BlockDecoder.Decode(b.Bytes, EntryOf(b), vocab, "re-encoded", dest, verifyChecksum: true, dictionaries);
                positions += b.PositionCount;
            }
            best = Math.Max(best, positions / clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>The ids codec alone on its column's bytes (after zstd, where the column has it): best positions/s.</summary>
    public static double IdsDecodeRate(
        IReadOnlyList<EncodedBlock> blocks, IIdCodec codec, IReadOnlyList<SparseSequence> sequences, int perBlock, uint vocab,
        int repeats)
    {
        var all = sequences as List<SparseSequence> ?? sequences.ToList();
        var columns = new List<(byte[] Raw, int[] Counts, int[] Tokens, int Entries)>();
        using var decompressor = new ZstdSharp.Decompressor();
        for (int i = 0, b = 0; i < all.Count; i += perBlock, b++)
        {
            var group = all.GetRange(i, Math.Min(perBlock, all.Count - i));
            var d = ColumnOf(blocks[b].Bytes, ColumnKind.Ids);
            var stored = blocks[b].Bytes.AsSpan((int)d.Offset, (int)d.StoredLength);
            var raw = d.Compression == CompressionId.Zstd ? decompressor.Unwrap(stored).ToArray() : stored.ToArray();
            columns.Add(
                (raw, group.SelectMany(s => s.KeptCounts).ToArray(), group.SelectMany(s => s.Tokens).ToArray(),
                    group.Sum(s => s.EntryCount)));
        }
        var dest = new int[Math.Max(1, columns.Max(c => c.Entries))];
        var where = new ColumnLocation("re-encoded", 0, ColumnKind.Ids);
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long positions = 0;
            var clock = Stopwatch.StartNew();
            foreach (var (raw, counts, tokens, entries) in columns)
            {
                codec.Decode(raw, counts, tokens, dest.AsSpan(0, entries), vocab, where);
                positions += counts.Length;
            }
            best = Math.Max(best, positions / clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>
    /// Decodes every block and compares each position with the sequence it was encoded from: KL(encoded ‖ decoded) over
    /// the kept set and whether the most probable kept id is the same.
    /// </summary>
    public static ReencodedFidelity Fidelity(
        IReadOnlyList<EncodedBlock> blocks, IReadOnlyList<SparseSequence> sequences, uint vocab, StoreDictionaries dictionaries)
    {
        var dest = new DecodedBlock();
        var comparer = new PositionComparer(vocab);
        long positions = 0, top1 = 0;
        double kl = 0, maxKl = 0;
        foreach (var b in blocks)
        {
            BlockDecoder.Decode(b.Bytes, EntryOf(b), vocab, "re-encoded", dest, verifyChecksum: false, dictionaries);
            for (int i = 0; i < b.SequenceCount; i++)
            {
                var view = dest.Sequence(i);
                var reference = sequences[(int)b.FirstSequence + i];
                int e = 0;
                for (int t = 0; t < view.Length; t++)
                {
                    int n = reference.KeptCounts[t];
                    var f = comparer.Compare(
                        new PositionDistribution(reference.Ids.AsSpan(e, n), reference.Probs.AsSpan(e, n), reference.Residual[t]),
                        new PositionDistribution(view.IdsAt(t), view.ProbsAt(t), view.Residual[t]));
                    e += n;
                    kl += f.KlKept;
                    maxKl = Math.Max(maxKl, f.KlKept);
                    if (f.Top1 || n == 0) top1++;
                    positions++;
                }
            }
        }
        return new ReencodedFidelity(positions, kl / Math.Max(1, positions), maxKl, (double)top1 / Math.Max(1, positions));
    }
}
