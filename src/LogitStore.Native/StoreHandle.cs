using LogitStore.Reading;

namespace LogitStore.Native;

/// <summary>
/// An open store behind a C handle: the reader, the manifest's bytes, a decode scratch for random access, and how many
/// loaders still read it (closing the store while a loader lives unmaps nothing until the last loader closes).
/// </summary>
internal sealed class StoreHandle(StoreReader reader, byte[] manifestBytes)
{
    public StoreReader Reader { get; } = reader;
    public byte[] ManifestBytes { get; } = manifestBytes;
    public DecodedBlock Scratch { get; } = new();
    public object Gate { get; } = new();
    private int _users = 1;

    public void AddUser()
    {
        lock (Gate)
        {
            if (_users == 0) throw new ObjectDisposedException("store", "the store is closed");
            _users++;
        }
    }

    public void RemoveUser()
    {
        lock (Gate)
        {
            if (--_users == 0) Reader.Dispose();
        }
    }
}
