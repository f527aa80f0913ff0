using LogitStore.Format;

namespace LogitStore.Reading;

/// <summary>The <c>corpus</c> component of a store's fingerprint (spec 2.9), computed from the tokens it holds.</summary>
public static class CorpusFingerprint
{
    /// <summary>The sum of the block's sequence terms (mod 2^64).</summary>
    public static ulong Of(DecodedBlock block)
    {
        ulong sum = 0;
        for (int i = 0; i < block.SequenceCount; i++)
        {
            var s = block.Sequence(i);
            sum += StoreFingerprint.SequenceTerm(s.Id, s.Tokens);
        }
        return sum;
    }

    /// <summary>The sum over every sequence of the store: reads every block.</summary>
    public static ulong Of(StoreReader store)
    {
        ulong sum = 0;
        foreach (var block in store.ScanBlocks()) sum += Of(block);
        return sum;
    }

    /// <summary>The fingerprint the manifest records, or (a store older than 1.4) the one computed from it and its tokens.</summary>
    public static StoreFingerprint Fingerprint(StoreReader store) =>
        StoreFingerprint.Recorded(store.Manifest) ?? StoreFingerprint.Of(store.Manifest, Of(store));
}
