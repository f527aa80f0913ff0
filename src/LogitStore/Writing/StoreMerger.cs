using System.Text.Json.Nodes;
using LogitStore.Format;
using LogitStore.Format.Storage;

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
            if (!m.IsComplete) throw new StoreIncompleteException(dir);
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

        bool outputExisted = Directory.Exists(outDirectory);
        using var writeLock = StoreWriteLock.Acquire(outDirectory, "merging parts into the store");
        var output = new StoreDirectory(outDirectory);
        if (!output.HoldsStore) output.Remove(); // what a merge killed before its commit left: garbage (spec 2.5)
        output.Create(overwrite: false);
        try
        {
            return WriteMerged(output, parts, first, corpus);
        }
        catch
        {
            // Nothing was committed: leave no half-merged files behind, removing them while the lock is held (spec 2.5.1).
            if (!outputExisted) Directory.Delete(outDirectory, recursive: true);
            else output.Remove();
            throw;
        }
    }

    private static Manifest WriteMerged(StoreDirectory output, List<(string Dir, Manifest M)> parts, Manifest first, ulong corpus)
    {
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
                CopyChecked(dir, shard, output.Of(name));
                merged.Shards.Add(new ShardEntry
                {
                    File = name, PackId = shard.PackId, FirstSequence = shard.FirstSequence, Sequences = shard.Sequences,
                    Positions = shard.Positions, Entries = shard.Entries, Blocks = shard.Blocks, Bytes = shard.Bytes, Xxh3 = shard.Xxh3,
                });
            }
        merged.Fingerprint = StoreFingerprint.Of(merged, corpus).ToSection();
        output.Commit(merged);
        return merged;
    }

    /// <summary>
    /// Copies a part's shard to <paramref name="target"/> (a durable commit), hashing the bytes it copies: a
    /// copy whose length or XXH3-64 differs from the part's manifest is refused, naming the damaged block where one is.
    /// </summary>
    private static void CopyChecked(string partDirectory, ShardEntry shard, string target)
    {
        string source = new StoreDirectory(partDirectory).Of(shard.File);
        var hash = new System.IO.Hashing.XxHash3();
        long length = 0;
        using var copy = DurableFile.Create(target);
        using (var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            var buffer = new byte[1 << 20];
            int n;
            while ((n = from.Read(buffer)) > 0)
            {
                hash.Append(buffer.AsSpan(0, n));
                copy.Stream.Write(buffer, 0, n);
                length += n;
            }
        }
        string actual = Checksum.ToHex(hash.GetCurrentHashAsUInt64());
        if ((ulong)length != shard.Bytes || actual != shard.Xxh3)
            throw LocateDamage(partDirectory, source)
                ?? new StoreCorruptException(source, 0,
                    $"{length} bytes with XXH3-64 {actual}; the part's manifest records {shard.Bytes} bytes with {shard.Xxh3}");
        copy.Commit();
    }

    /// <summary>The verifier's fault in <paramref name="file"/>, naming the block and offset, when it finds one.</summary>
    private static StoreCorruptException? LocateDamage(string partDirectory, string file)
    {
        try
        {
            return Reading.StoreVerifier.Verify(partDirectory).Faults
                .FirstOrDefault(f => Path.GetFullPath(f.File) == Path.GetFullPath(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // the length and checksum mismatch is reported as it is
        }
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
