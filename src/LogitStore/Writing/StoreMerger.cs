using System.Text.Json.Nodes;
using LogitStore.Format;

namespace LogitStore.Writing;

/// <summary>Commits the parts of a partitioned pack (<c>--part i/N</c>) as one store (<c>logitstore merge</c>).</summary>
public static class StoreMerger
{
    public static Manifest Merge(string outDirectory, IReadOnlyList<string> partDirectories)
    {
        if (partDirectories.Count == 0) throw new ArgumentException("merge needs at least one part");
        var parts = partDirectories.Select(d => (Dir: d, M: Manifest.Load(d))).ToList();
        ulong corpus = 0;
        foreach (var (dir, m) in parts)
        {
            if (!m.IsComplete) throw new InvalidOperationException($"{dir} is not complete: finish it with pack --resume first");
            if (m.Partition is null) throw new InvalidOperationException($"{dir} is not a part of a partitioned pack");
            using var reader = Reading.StoreReader.Open(dir); // validates every shard against its manifest
            corpus += Reading.CorpusFingerprint.Fingerprint(reader).Corpus;
        }
        parts.Sort((a, b) => a.M.Partition!.Index.CompareTo(b.M.Partition!.Index));
        var first = parts[0].M;
        int count = first.Partition!.Count;
        if (parts.Count != count) throw new InvalidOperationException($"the parts say there are {count} of them, {parts.Count} were given");
        ulong next = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var (dir, m) = parts[i];
            if (m.Partition!.Index != i || m.Partition.Count != count)
                throw new InvalidOperationException($"{dir} is part {m.Partition.Index}/{m.Partition.Count}; expected part {i}/{count}");
            if (m.Partition.FirstSequence < next)
                throw new InvalidOperationException(
                    $"{dir} starts at sequence {m.Partition.FirstSequence}, expected {next}: sequences [{m.Partition.FirstSequence}, " +
                    $"{next}) are in two parts (an overlap)");
            if (m.Partition.FirstSequence > next)
                throw new InvalidOperationException(
                    $"{dir} starts at sequence {m.Partition.FirstSequence}, expected {next}: sequences [{next}, " +
                    $"{m.Partition.FirstSequence}) are in no part (a gap)");
            if (m.EndSequence != m.Partition.FirstSequence + m.Partition.SequenceCount)
                throw new InvalidOperationException($"{dir} does not hold its whole slice");
            if (i < parts.Count - 1 && m.Partition.SequenceCount % (ulong)first.Codecs.SequencesPerBlock != 0)
                throw new InvalidOperationException(
                    $"{dir} (part {i}/{count}) holds {m.Partition.SequenceCount} sequences, not whole blocks of " +
                    $"{first.Codecs.SequencesPerBlock}: only the last part may end with a short block");
            foreach (var (what, a, b) in Sections(first, m))
                if (a != b)
                    throw new InvalidOperationException(
                        $"{dir} differs from part 0 in '{what}': parts of one store must share vocabulary, tokenizer, teacher, " +
                        $"processing, codecs and source");
            next = m.EndSequence;
        }

        var output = new StoreDirectory(outDirectory);
        output.Create(overwrite: false);
        var merged = new Manifest
        {
            StoreId = Manifest.NewId(),
            Status = Manifest.StatusComplete,
            VocabSize = first.VocabSize,
            Tokenizer = first.Tokenizer,
            Teacher = (JsonObject)first.Teacher.DeepClone(),
            Processing = first.Processing,
            Codecs = first.Codecs,
            Source = (JsonObject)first.Source.DeepClone(),
        };
        // Parts may have trained their own dictionaries: the merged store lists each once (blocks name theirs by ref).
        foreach (var (dir, m) in parts)
            foreach (var d in m.Dictionaries)
            {
                var known = merged.Dictionaries.Find(x => x.Ref == d.Ref);
                if (known is not null)
                {
                    if (known.Xxh3 != d.Xxh3)
                        throw new InvalidOperationException(
                            $"{dir}: dictionary ref {d.Ref} names a different file than in an earlier part");
                    continue;
                }
                output.CopyDictionary(new StoreDirectory(dir), d);
                merged.Dictionaries.Add(d);
            }
        foreach (var (dir, m) in parts)
            foreach (var shard in m.Shards)
            {
                string name = StoreDirectory.ShardName(merged.Shards.Count);
                string target = output.Of(name);
                File.Copy(new StoreDirectory(dir).Of(shard.File), target + FormatConstants.TempSuffix, overwrite: true);
                using (var fs = new FileStream(target + FormatConstants.TempSuffix, FileMode.Open, FileAccess.ReadWrite))
                    fs.Flush(flushToDisk: true);
                File.Move(target + FormatConstants.TempSuffix, target, overwrite: true);
                merged.Shards.Add(new ShardEntry
                {
                    File = name, PackId = shard.PackId, FirstSequence = shard.FirstSequence, Sequences = shard.Sequences,
                    Positions = shard.Positions, Entries = shard.Entries, Blocks = shard.Blocks, Bytes = shard.Bytes, Xxh3 = shard.Xxh3,
                });
            }
        DurableFile.SyncDirectory(output.ShardsPath);
        merged.Fingerprint = StoreFingerprint.Of(merged, corpus).ToSection();
        output.Commit(merged);
        return merged;
    }

    private static IEnumerable<(string, string, string)> Sections(Manifest a, Manifest b)
    {
        static string J<T>(T v) => System.Text.Json.JsonSerializer.Serialize(
            v, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ManifestJsonContext.Default.GetTypeInfo(typeof(T))!);
        yield return ("vocab_size", J(a.VocabSize), J(b.VocabSize));
        yield return ("tokenizer", J(a.Tokenizer), J(b.Tokenizer));
        yield return ("teacher", J(a.Teacher), J(b.Teacher));
        yield return ("processing", J(a.Processing), J(b.Processing));
        static CodecSection WithoutRefs(CodecSection c) => new()
        {
            Tokens = c.Tokens, Ids = c.Ids, Values = c.Values, ValueLogRange = c.ValueLogRange, ZstdLevel = c.ZstdLevel,
            SequencesPerBlock = c.SequencesPerBlock, ShardTargetBytes = c.ShardTargetBytes, MvqBeam = c.MvqBeam,
            DictionarySample = c.DictionarySample,
        };
        yield return ("codecs", J(WithoutRefs(a.Codecs)), J(WithoutRefs(b.Codecs)));
        yield return ("source", J(a.Source), J(b.Source));
    }
}
