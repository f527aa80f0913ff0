using System.Buffers.Binary;
using System.Text;
using LogitStore.Format;

namespace LogitStore.Writing;

/// <summary>
/// The ids a writer gives a store (<c>store_id</c>) and a pack run (<c>pack_id</c>): random, or derived from an identity
/// seed so that the same inputs give the same bytes (format-spec 2, "Ids derived from a seed").
/// </summary>
internal static class StoreIdentity
{
    /// <summary>The label hashed into a derived <c>store_id</c>.</summary>
    public const string StoreIdLabel = "logitstore store_id";

    /// <summary>The label hashed into a derived <c>pack_id</c>.</summary>
    public const string PackIdLabel = "logitstore pack_id";

    /// <summary>
    /// The <c>store_id</c> of a new store: 32 hex digits, random when <paramref name="seed"/> is null.
    /// </summary>
    public static string StoreId(ulong? seed) =>
        seed is { } s ? Convert.ToHexStringLower(Derive(StoreIdLabel, s, 0)) : Manifest.NewId();

    /// <summary>
    /// The <c>pack_id</c> of a pack run whose first written sequence is <paramref name="firstSequence"/>, random when
    /// <paramref name="seed"/> is null. The first sequence keeps the runs of one seed apart: each part of a partitioned pack,
    /// and a resume, starts at another sequence.
    /// </summary>
    public static Guid PackId(ulong? seed, ulong firstSequence) =>
        seed is { } s ? new Guid(Derive(PackIdLabel, s, firstSequence), bigEndian: true) : Guid.NewGuid();

    /// <summary>
    /// 16 bytes: for h = 0, 1 the little-endian u64 XXH3-64 of label (ASCII) ‖ u64 seed ‖ u64 value ‖ u8 h.
    /// </summary>
    internal static byte[] Derive(string label, ulong seed, ulong value)
    {
        int labelLength = Encoding.ASCII.GetByteCount(label);
        Span<byte> input = stackalloc byte[labelLength + 2 * sizeof(ulong) + 1];
        Encoding.ASCII.GetBytes(label, input);
        BinaryPrimitives.WriteUInt64LittleEndian(input[labelLength..], seed);
        BinaryPrimitives.WriteUInt64LittleEndian(input[(labelLength + sizeof(ulong))..], value);
        var id = new byte[16];
        for (int half = 0; half < 2; half++)
        {
            input[^1] = (byte)half;
            BinaryPrimitives.WriteUInt64LittleEndian(id.AsSpan(half * sizeof(ulong)), Checksum.Of(input));
        }
        return id;
    }
}
