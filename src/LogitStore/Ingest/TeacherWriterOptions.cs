using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Ingest;

/// <summary>What a <see cref="TeacherWriter"/>'s store records (format-spec 2), and how the writer works.</summary>
public sealed record TeacherWriterOptions
{
    /// <summary>V: every token and kept id is below it.</summary>
    public required uint VocabSize { get; init; }

    /// <summary>Recorded as the manifest's <c>teacher.id</c>, as a stream's <c>teacher_id</c> is.</summary>
    public string TeacherId { get; init; } = "";

    public ProcessingOptions Processing { get; init; } = new();
    public CodecOptions Codecs { get; init; } = new();

    /// <summary>Part <c>i/N</c> of a partitioned pack, starting at <see cref="FirstSequence"/>; null for a whole store.</summary>
    public PartSpec? Part { get; init; }

    /// <summary>
    /// Global id of the first sequence: 0 for a whole store; a part's is a multiple of sequences_per_block, and only part 0
    /// starts at 0 (stream-protocol.md 6).
    /// </summary>
    public ulong FirstSequence { get; init; }

    /// <summary>Blocks encoded in parallel; 0 takes every core.</summary>
    public int Workers { get; init; }

    /// <summary>Replace a store at the directory instead of refusing (not with a resume).</summary>
    public bool Overwrite { get; init; }

    /// <inheritdoc cref="StoreWriterOptions.IdentitySeed"/>
    public ulong? IdentitySeed { get; init; }

    /// <summary>
    /// Checks the settings that are the writer's own (the vocabulary, the part and its first sequence); the processing and
    /// codecs are checked by the pack, all before anything touches the disk.
    /// </summary>
    public void Validate()
    {
        if (VocabSize < 2) throw new SettingException("vocab_size", $"must be at least 2, got {VocabSize}");
        if (Workers < 0) throw new SettingException("workers", $"must be >= 0 (0: every core), got {Workers}");
        if (FirstSequence >= 1UL << 63) throw new SettingException("first_sequence", $"must be below 2^63, got {FirstSequence}");
        if (Part is not { } part)
        {
            if (FirstSequence != 0)
                throw new SettingException(
                    "part", $"is needed: first_sequence {FirstSequence} makes the store one part of a pack; say which part");
            return;
        }
        if (part.Count < 1 || part.Index < 0 || part.Index >= part.Count)
            throw new SettingException("part", $"takes i/N with 0 <= i < N, got {part.Index}/{part.Count}");
        if (part.Index > 0 && FirstSequence == 0)
            throw new SettingException("first_sequence", $"of part {part} is 0: only part 0 starts at sequence 0");
        if (FirstSequence % (ulong)Math.Max(1, Codecs.SequencesPerBlock) != 0)
            throw new SettingException(
                "first_sequence",
                $"{FirstSequence} is not a multiple of sequences_per_block {Codecs.SequencesPerBlock}: parts are whole blocks");
    }

    /// <summary>
    /// Every setting of a store's manifest that differs from these options: <c>"top_k: 20 recorded, 5 given"</c>, named
    /// as the manifest names them. What a resume refuses.
    /// </summary>
    public IReadOnlyList<string> Differences(Manifest m)
    {
        var found = new List<string>();
        void Compare(string member, string? recorded, string given)
        {
            if (recorded != given) found.Add($"{member}: {recorded ?? "none"} recorded, {given} given");
        }
        string kind = (string?)m.Source["kind"] ?? "";
        if (kind != TeacherWriter.Kind) found.Add($"source: '{kind}' recorded, a writer ('{TeacherWriter.Kind}') given");
        Compare("vocab_size", m.VocabSize.ToString(), VocabSize.ToString());
        Compare("teacher_id", m.Teacher["id"] is { } id ? (string?)id : null, TeacherId);
        Compare("part", m.Partition is { } p ? $"{p.Index}/{p.Count}" : "none", Part?.ToString() ?? "none");
        Compare("first_sequence", m.FirstSequence.ToString(), FirstSequence.ToString());
        foreach (var (member, recorded, given) in ManifestSections.Differences(m.Processing, Processing)
                     .Concat(CodecSections.Differences(CodecSections.ToSection(CodecSections.FromSection(m.Codecs)), Codecs)))
            found.Add($"{member}: {recorded} recorded, {given} given");
        return found;
    }
}
