using System.Runtime.InteropServices;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Native;

/// <summary>Opening and closing a store, its facts, random access to one sequence, and full verification.</summary>
internal static unsafe class StoreExports
{
    private const int OpenDamaged = 1;

    [UnmanagedCallersOnly(EntryPoint = "logitstore_store_open")]
    public static int Open(byte* path, int flags, nint* store)
    {
        try
        {
            if (store is null) throw new ArgumentException("a null result pointer");
            string directory = NativeSpans.Utf8Path(path);
            var reader = StoreReader.Open(directory, new StoreReaderOptions { OpenDamaged = (flags & OpenDamaged) != 0 });
            byte[] manifest;
            try
            {
                manifest = File.ReadAllBytes(new StoreDirectory(directory).ManifestPath);
            }
            catch
            {
                reader.Dispose();
                throw;
            }
            *store = GCHandle.ToIntPtr(GCHandle.Alloc(new StoreHandle(reader, manifest)));
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_store_close")]
    public static void Close(nint store)
    {
        if (store == 0) return;
        var handle = GCHandle.FromIntPtr(store);
        (handle.Target as StoreHandle)?.RemoveUser();
        handle.Free();
    }

    /// <summary>The store's facts as one JSON document (its manifest included), returned in library-owned bytes.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_store_facts")]
    public static int Facts(nint store, byte** json, long* length)
    {
        try
        {
            var s = NativeSpans.Target<StoreHandle>(store);
            var reader = s.Reader;
            return NativeStatus.ReturnJson(json, length, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("abi_version", NativeAbi.Version);
                w.WriteString("directory", reader.Directory);
                w.WriteNumber("vocab_size", reader.VocabSize);
                w.WriteNumber("first_sequence", reader.FirstSequence);
                w.WriteNumber("sequence_count", reader.SequenceCount);
                w.WriteNumber("block_count", reader.BlockCount);
                if (reader.MaxEntriesPerPosition is { } width) w.WriteNumber("max_entries_per_position", width);
                else w.WriteNull("max_entries_per_position");
                try
                {
                    w.WriteNumber("sequence_length", reader.SequenceLength);
                }
                catch (ArgumentException)
                {
                    w.WriteNull("sequence_length");
                }
                w.WriteStartArray("damage");
                foreach (var d in reader.Damage) w.WriteStringValue(d.Message);
                w.WriteEndArray();
                w.WritePropertyName("manifest");
                w.WriteRawValue(s.ManifestBytes, skipInputValidation: true);
                w.WriteEndObject();
            });
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Decodes the sequence's block (kept for the next call) and gives its length and entry count.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_store_sequence_shape")]
    public static int SequenceShape(nint store, ulong sequence, int* length, long* entries)
    {
        try
        {
            if (length is null || entries is null) throw new ArgumentException("a null result pointer");
            var s = NativeSpans.Target<StoreHandle>(store);
            lock (s.Gate)
            {
                var view = s.Reader.ReadSequence(sequence, s.Scratch);
                *length = view.Length;
                *entries = view.Ids.Length;
            }
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Copies one sequence into caller-owned buffers sized by <c>logitstore_store_sequence_shape</c>.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_store_read_sequence")]
    public static int ReadSequence(
        nint store, ulong sequence, int* tokens, int* keptCounts, float* residual, int length, int* ids, float* probs, long entries)
    {
        try
        {
            var s = NativeSpans.Target<StoreHandle>(store);
            var dTokens = NativeSpans.Of(tokens, length);
            var dCounts = NativeSpans.Of(keptCounts, length);
            var dResidual = NativeSpans.Of(residual, length);
            var dIds = NativeSpans.Of(ids, entries);
            var dProbs = NativeSpans.Of(probs, entries);
            lock (s.Gate)
            {
                var view = s.Reader.ReadSequence(sequence, s.Scratch);
                if (view.Length != length || view.Ids.Length != entries)
                    throw new ArgumentException(
                        $"sequence {sequence} has {view.Length} positions and {view.Ids.Length} entries, not {length} and {entries}");
                view.Tokens.CopyTo(dTokens);
                view.KeptCounts.CopyTo(dCounts);
                view.Residual.CopyTo(dResidual);
                view.Ids.CopyTo(dIds);
                view.Probs.CopyTo(dProbs);
            }
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>
    /// Full verification (spec 7) of the store at <paramref name="path"/>: a JSON report listing every fault with its file
    /// and offset. The status is Ok even when faults are found; the report says so.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_verify")]
    public static int Verify(byte* path, byte** json, long* length)
    {
        try
        {
            var report = StoreVerifier.Verify(NativeSpans.Utf8Path(path));
            return NativeStatus.ReturnJson(json, length, w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("ok", report.Ok);
                w.WriteBoolean("complete", report.Complete);
                w.WriteNumber("shards", report.Shards);
                w.WriteNumber("blocks", report.Blocks);
                w.WriteNumber("sequences", report.Sequences);
                w.WriteNumber("positions", report.Positions);
                w.WriteNumber("bytes", report.Bytes);
                w.WriteStartArray("faults");
                foreach (var f in report.Faults)
                {
                    w.WriteStartObject();
                    w.WriteString("file", f.File);
                    w.WriteNumber("offset", f.Offset);
                    w.WriteString("problem", f.Problem);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }
}
