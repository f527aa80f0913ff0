using System.IO.Hashing;
using LogitStore.Format;
using LogitStore.Format.Storage;

namespace LogitStore.Writing;

/// <summary>
/// Writes one shard under a temporary name: header, appended blocks, then on <see cref="Commit"/>
/// the block index and footer, then the durable commit to its final name (spec 3, 2.5).
/// </summary>
internal sealed class ShardWriter : IDisposable
{
    private readonly PendingFile _pending;
    private readonly FileStream _file;
    private readonly XxHash3 _fileHash = new();
    private readonly List<BlockIndexEntry> _index = new();
    private readonly Guid _packId;
    private readonly ulong _firstSequence;
    private ulong _sequences, _positions, _entries;

    public ShardWriter(string storeDirectory, string relativeFile, uint vocabSize, ulong firstSequence, Guid packId)
    {
        RelativeFile = relativeFile;
        string finalPath = Path.Combine(storeDirectory, relativeFile);
        Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);
        _packId = packId;
        _firstSequence = firstSequence;
        _pending = DurableFile.Create(finalPath);
        _file = _pending.Stream;
        Span<byte> header = stackalloc byte[FormatConstants.ShardHeaderSize];
        new ShardHeader(FormatConstants.MajorVersion, FormatConstants.MinorVersion, vocabSize, firstSequence, packId).Write(header);
        Write(header);
    }

    public string RelativeFile { get; }
    public long Length => _file.Position;
    public int BlockCount => _index.Count;

    public void Append(EncodedBlock block)
    {
        if (block.FirstSequence != _firstSequence + _sequences)
            throw new InvalidOperationException($"block starts at sequence {block.FirstSequence}, expected {_firstSequence + _sequences}");
        _index.Add(new BlockIndexEntry(
            (ulong)_file.Position, (uint)block.Bytes.Length, (uint)block.SequenceCount, block.FirstSequence, (uint)block.PositionCount,
            (uint)block.EntryCount));
        Write(block.Bytes);
        _sequences += (ulong)block.SequenceCount;
        _positions += (ulong)block.PositionCount;
        _entries += (ulong)block.EntryCount;
    }

    /// <summary>Finishes the shard durably and returns its manifest entry.</summary>
    public ShardEntry Commit()
    {
        ulong indexOffset = (ulong)_file.Position;
        var index = new byte[_index.Count * FormatConstants.BlockIndexEntrySize];
        for (int i = 0; i < _index.Count; i++) _index[i].Write(index.AsSpan(i * FormatConstants.BlockIndexEntrySize));
        Write(index);
        Span<byte> footer = stackalloc byte[FormatConstants.ShardFooterSize];
        new ShardFooter(indexOffset, (uint)_index.Count, _sequences, _positions, _entries, Checksum.Of(index)).Write(footer);
        Write(footer);
        long length = _pending.Commit();
        return new ShardEntry
        {
            File = RelativeFile,
            PackId = Manifest.Hex(_packId),
            FirstSequence = _firstSequence,
            Sequences = _sequences,
            Positions = _positions,
            Entries = _entries,
            Blocks = (uint)_index.Count,
            Bytes = (ulong)length,
            Xxh3 = Checksum.ToHex(_fileHash.GetCurrentHashAsUInt64()),
        };
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _file.Write(bytes);
        _fileHash.Append(bytes);
    }

    /// <summary>Abandons an uncommitted shard: the temporary file is removed.</summary>
    public void Dispose() => _pending.Dispose();
}
