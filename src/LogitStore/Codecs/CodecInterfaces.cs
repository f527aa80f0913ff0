using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Where a column's payload sits, for error messages.</summary>
internal readonly record struct ColumnLocation(string File, long Offset, ColumnKind Kind)
{
    public StoreCorruptException Corrupt(string problem) => new(File, Offset, $"{ColumnTable.NameOf(Kind)} column: {problem}");
}

/// <summary>Encodes a column of token ids (tokens or kept ids); spec 5.1, 5.2, 5.8, 5.10.</summary>
internal interface IIdCodec
{
    CodecId Id { get; }
    uint Param { get; }

    /// <summary>True when the codec stores each position's entries in ascending id order instead of rank order.</summary>
    bool StoresAscendingIds { get; }

    int MaxEncodedLength(int count);

    /// <summary>
    /// Encodes <paramref name="ids"/>; <paramref name="keptCounts"/> splits them into positions (the delta and context codecs
    /// need it) and <paramref name="tokens"/> holds each position's input token (the context codec's context; empty for
    /// the tokens column itself).
    /// </summary>
    int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest);

    void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where);
}

/// <summary>Encodes a column of kept probabilities; spec 5.3–5.5.</summary>
internal interface IValueCodec
{
    CodecId Id { get; }
    uint Param { get; }

    /// <summary>Worst-case KL(p ‖ p̂) in nats for a position of <paramref name="entries"/> entries.</summary>
    double KlBound(int entries);

    int MaxEncodedLength(int count);

    int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest);

    void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where);
}
