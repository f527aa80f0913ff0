using System.Buffers.Binary;
using System.Text;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Golden;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

/// <summary>
/// The rules a reader enforces (spec 7), each on a store whose checksums were recomputed after the change, so that only
/// the rule itself can catch it; verify names the file and the offset the spec gives.
/// </summary>
public class ReaderRulesTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    private string ManifestPath => Path.Combine(_dir, FormatConstants.ManifestFileName);

    /// <summary>The newest golden <c>packed-q8</c> store, copied: its manifest is known member by member.</summary>
    private string Golden()
    {
        string from = GoldenStores.StoreDirectory(GoldenStores.CurrentVersion, "packed-q8");
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(_dir, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        Assert.True(StoreVerifier.Verify(_dir).Ok);
        return File.ReadAllText(ManifestPath);
    }

    /// <summary>Writes the manifest with <c>manifest_xxh3</c> recomputed as spec 2.7 says, at its last occurrence.</summary>
    private void WriteResealed(byte[] bytes)
    {
        byte[] marker = "\"manifest_xxh3\": \""u8.ToArray();
        int at = bytes.AsSpan().LastIndexOf(marker) + marker.Length;
        bytes.AsSpan(at, 16).Fill((byte)'0');
        Encoding.ASCII.GetBytes(Checksum.ToHex(Checksum.Of(bytes)), bytes.AsSpan(at, 16));
        File.WriteAllBytes(ManifestPath, bytes);
    }

    private void WriteResealed(string text) => WriteResealed(Encoding.UTF8.GetBytes(text));

    /// <summary>The one fault verify reports: in the manifest, at <paramref name="offset"/>.</summary>
    private StoreCorruptException ManifestFault(long offset)
    {
        var report = StoreVerifier.Verify(_dir);
        var fault = Assert.Single(report.Faults);
        Assert.Equal(ManifestPath, fault.File);
        Assert.Equal(offset, fault.Offset);
        return fault;
    }

    /// <summary>Where the value of the first <c>"name": </c> after <paramref name="from"/> starts.</summary>
    private static int ValueAt(string text, string name, int from = 0) =>
        text.IndexOf($"\"{name}\": ", from, StringComparison.Ordinal) + name.Length + 4;

    [Fact]
    public void RepeatedMember_AtAnyLevel_IsRejectedAtItsSecondValue()
    {
        string text = Golden();
        foreach (var (inside, member) in new[] { ("{", "status"), ("\"teacher\": {", "id"), ("\"shards\": [\n    {", "file") })
        {
            int value = ValueAt(text, member, text.IndexOf(inside, StringComparison.Ordinal) + inside.Length);
            int start = text.LastIndexOf('\n', value) + 1, end = text.IndexOf('\n', value);
            string copy = text[start..end].TrimEnd(',') + ",\n";   // the member's own line, once more, before it
            string twice = text[..start] + copy + text[start..];
            WriteResealed(twice);
            var fault = ManifestFault(ValueAt(twice, member, start + copy.Length));
            Assert.Contains("twice", fault.Problem);
        }
    }

    [Fact]
    public void ChecksumThatIsNotTheLastMember_IsRejectedAtItsValue()
    {
        string text = Golden();
        int member = text.IndexOf(",\n  \"manifest_xxh3\"", StringComparison.Ordinal);
        string checksum = text[(member + 2)..text.LastIndexOf('\n')];
        int totals = text.IndexOf("  \"totals\"", StringComparison.Ordinal);
        string moved = text[..totals] + checksum + ",\n" + text[totals..member] + "\n}";
        WriteResealed(moved);
        Assert.Contains("last member", ManifestFault(ValueAt(moved, "manifest_xxh3")).Problem);
    }

    [Theory]
    [InlineData("status", "\"done\"", "status")]
    [InlineData("format", "\"logitstorx\"", "format")]
    [InlineData("bytes", "-1", "shards/0/bytes")]
    [InlineData("sequences", "1.5", "shards/0/sequences")]
    [InlineData("entries", "3.04e2", "shards/0/entries")]
    [InlineData("vocab_size", "\"50\"", "vocab_size")]
    [InlineData("shard_target_bytes", "9007199254740992", "codecs/shard_target_bytes")]
    [InlineData("zstd_level", "null", "codecs/zstd_level")]
    [InlineData("temperature", "\"1\"", "processing/temperature")]
    public void MemberOfTheWrongTypeOrRange_IsRejectedAtItsValue(string member, string value, string path)
    {
        string text = Golden();
        int at = ValueAt(text, member);
        int end = text.IndexOfAny([',', '\n'], at);
        string damaged = text[..at] + value + text[end..];
        WriteResealed(damaged);
        var fault = ManifestFault(at);
        Assert.True(fault.Problem.Contains(path) || fault.Problem.Contains(member), fault.Problem);
    }

    [Fact]
    public void ProcessingWithoutMethod_IsRejected_NotReadAsADefault()
    {
        string text = Golden();
        string damaged = text.Replace("    \"method\": \"top-p-k\",\n", "");
        Assert.NotEqual(text, damaged);
        WriteResealed(damaged);
        ManifestFault(text.IndexOf("\"processing\": ", StringComparison.Ordinal) + "\"processing\": ".Length);
    }

    [Fact]
    public void InvalidUtf8_IsRejectedAtTheFirstBadByte()
    {
        string text = Golden();
        var bytes = Encoding.UTF8.GetBytes(text.Replace("synthetic-zipf", "synthetic-zipX"));
        int bad = Encoding.UTF8.GetBytes(text).AsSpan().IndexOf("synthetic-zipf"u8) + "synthetic-zip".Length;
        bytes[bad] = 0xC3;   // a lead byte followed by ASCII: not UTF-8
        WriteResealed(bytes);
        Assert.Contains("UTF-8", ManifestFault(bad).Problem);
    }

    [Theory]
    [InlineData("other/shard-00000.lss")]
    [InlineData("/tmp/shard-00000.lss")]
    [InlineData("shards/../shards/shard-00000.lss")]
    [InlineData("shards/sub/shard-00000.lss")]
    [InlineData("shard-00000.lss")]
    public void ShardFileOutsideItsFolder_IsRejectedAtTheFileValue(string file)
    {
        string text = Golden();
        // The file is really there, so only the path rule can refuse it.
        string target = Path.IsPathRooted(file) ? Path.Combine(_dir, "abs") : Path.Combine(_dir, file);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        string shard = Path.Combine(_dir, "shards", "shard-00000.lss");
        if (Path.GetFullPath(target) != shard) File.Copy(shard, target, overwrite: true);
        string damaged = text.Replace("\"shards/shard-00000.lss\"", $"\"{file}\"");
        WriteResealed(damaged);
        var report = StoreVerifier.Verify(_dir);
        Assert.Equal(ManifestPath, report.Faults[0].File);
        Assert.Equal(ValueAt(damaged, "file"), report.Faults[0].Offset);
    }

    [Fact]
    public void TempFilesAreUnlisted_SubDirectoriesAreNotPartOfTheStore()
    {
        Golden();
        File.WriteAllBytes(Path.Combine(_dir, "shards", "shard-00001.lss.tmp"), [1, 2, 3]);
        Directory.CreateDirectory(Path.Combine(_dir, "shards", "notes"));
        File.WriteAllBytes(Path.Combine(_dir, "shards", "notes", "x.lss"), [1]);
        var fault = Assert.Single(StoreVerifier.Verify(_dir).Faults);
        Assert.EndsWith("shard-00001.lss.tmp", fault.File);
        Assert.Equal(0, fault.Offset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    public void ShardOfAnyMinorVersion_VerifiesUnderA14Manifest(ushort minor)
    {
        Golden();
        EditShard(bytes => BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(ShardHeader.Offsets.MinorVersion), minor));
        Assert.True(StoreVerifier.Verify(_dir).Ok);
    }

    /// <summary>Six sequences, u32 ids and f32 values, uncompressed: every id and parameter sits at a known place.</summary>
    private string PlainStore()
    {
        StoreRoundTripTests.Write(
            _dir, 1000,
            new CodecOptions { Ids = IdCodecSpec.U32, Values = ValueCodecSpec.F32, SequencesPerBlock = 2, ZstdLevel = 0 },
            Enumerable.Range(0, 6).Select(i => TestData.SyntheticSequence((ulong)i, 24)));
        Assert.True(StoreVerifier.Verify(_dir).Ok);
        return Path.Combine(_dir, "shards", "shard-00000.lss");
    }

    /// <summary>
    /// Edits the only shard, then recomputes every checksum that covers it: header, blocks, index, footer, and the
    /// manifest's <c>xxh3</c> and <c>manifest_xxh3</c>.
    /// </summary>
    private void EditShard(Action<byte[]> edit)
    {
        var manifest = Manifest.Load(_dir);
        string path = Path.Combine(_dir, manifest.Shards[0].File);
        var bytes = File.ReadAllBytes(path);
        edit(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(ShardHeader.Offsets.HeaderChecksum), Checksum.Of(bytes.AsSpan(0, 56)));
        int footer = bytes.Length - FormatConstants.ShardFooterSize;
        int index = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(footer + 8));
        for (int at = index; at < footer; at += FormatConstants.BlockIndexEntrySize)
        {
            int offset = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8));
            BinaryPrimitives.WriteUInt64LittleEndian(
                bytes.AsSpan(offset + length - 8), Checksum.Of(bytes.AsSpan(offset, length - 8)));
        }
        File.WriteAllBytes(path, bytes);
        manifest.Shards[0].Xxh3 = Checksum.ToHex(Checksum.Of(bytes));
        File.WriteAllBytes(ManifestPath, manifest.ToUtf8());
    }

    /// <summary>Block 0's column directory entry of <paramref name="kind"/>: its file offset.</summary>
    private static int Descriptor(byte[] shard, ColumnKind kind)
    {
        for (int c = 0; ; c++)
        {
            int at = FormatConstants.ShardHeaderSize + ColumnDescriptor.OffsetInBlock(c);
            if (shard[at] == (byte)kind) return at;
        }
    }

    [Fact]
    public void PositionKeepingOneIdTwice_IsCorrupt_NamingTheIdsColumn()
    {
        string shard = PlainStore();
        long column = 0;
        EditShard(bytes =>
        {
            int d = Descriptor(bytes, ColumnKind.Ids);
            column = FormatConstants.ShardHeaderSize + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(d + 4));
            int counts = FormatConstants.ShardHeaderSize
                + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(Descriptor(bytes, ColumnKind.KeptCounts) + 4));
            int entry = 0;
            for (int i = 0; ; i++)
            {
                int n = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(counts + 2 * i));
                if (n >= 2) break;
                entry += n;
            }
            // The position's second id becomes its first.
            bytes.AsSpan((int)column + 4 * entry, 4).CopyTo(bytes.AsSpan((int)column + 4 * entry + 4));
        });
        var fault = Assert.Single(StoreVerifier.Verify(_dir).Faults);
        Assert.Equal(shard, fault.File);
        Assert.Equal(column, fault.Offset);
        Assert.Contains("twice", fault.Problem);
        using (var reader = StoreReader.Open(_dir, new StoreReaderOptions { CheckDistinctIds = true }))
            Assert.Equal(column, Assert.Throws<StoreCorruptException>(() => reader.ReadSequence(0)).Offset);
        using (var reader = StoreReader.Open(_dir)) reader.ReadSequence(0);   // off by default: it costs a fifth of a decode
    }

    [Theory]
    [InlineData(ColumnKind.Values)]
    [InlineData(ColumnKind.SequenceLengths)]
    [InlineData(ColumnKind.KeptCounts)]
    [InlineData(ColumnKind.ResidualMass)]
    [InlineData(ColumnKind.Ids)]
    public void CodecParamThatTheCodecDoesNotTake_IsCorrupt_NamingTheField(ColumnKind kind)
    {
        string shard = PlainStore();
        long field = 0;
        EditShard(bytes =>
        {
            field = Descriptor(bytes, kind) + ColumnDescriptor.Offsets.CodecParam;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)field), 7);
        });
        var fault = Assert.Single(StoreVerifier.Verify(_dir).Faults);
        Assert.Equal(shard, fault.File);
        Assert.Equal(field, fault.Offset);
    }
}
