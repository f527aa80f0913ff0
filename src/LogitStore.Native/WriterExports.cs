using System.Runtime.InteropServices;
using LogitStore.Codecs;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Native;

/// <summary>
/// Writing a store from the caller's process: a <see cref="TeacherWriter"/> behind a handle, fed sequences of full logits
/// or top-k lists, committed, or aborted (closed uncommitted) and later resumed.
/// </summary>
internal static unsafe class WriterExports
{
    /// <summary>Fills the options with the library's defaults (strings NULL: their defaults) and sets struct_size.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_options_default")]
    public static int OptionsDefault(WriterOptionsAbi* options)
    {
        try
        {
            if (options is null) throw new ArgumentException("null writer options");
            var p = new ProcessingOptions();
            var c = new CodecOptions();
            *options = new WriterOptionsAbi
            {
                StructSize = sizeof(WriterOptionsAbi),
                Temperature = p.Temperature,
                TopP = p.TopP,
                TopK = p.TopK,
                Draws = p.Draws,
                Seed = p.Seed,
                ValueLogRange = c.ValueLogRange,
                MvqBeam = c.MvqBeam,
                DictionarySample = c.DictionarySample,
                ZstdLevel = c.ZstdLevel,
                SequencesPerBlock = c.SequencesPerBlock,
                ShardTargetBytes = c.ShardTargetBytes,
            };
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_create")]
    public static int Create(byte* path, WriterOptionsAbi* options, nint* writer) =>
        Open(path, options, writer, TeacherWriter.Create);

    /// <summary>Finishes a partial store (or starts one where none is); settings that differ from the store's are refused.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_resume")]
    public static int Resume(byte* path, WriterOptionsAbi* options, nint* writer) =>
        Open(path, options, writer, TeacherWriter.Resume);

    private static int Open(byte* path, WriterOptionsAbi* options, nint* writer, Func<string, TeacherWriterOptions, TeacherWriter> open)
    {
        try
        {
            if (writer is null) throw new ArgumentException("a null result pointer");
            string directory = NativeSpans.Utf8Path(path);
            *writer = GCHandle.ToIntPtr(GCHandle.Alloc(open(directory, Options(options))));
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>
    /// Sequences the store held when the writer opened it (sent again first, their tokens alone read), sequences taken
    /// so far, and whether a resume found the store complete.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_state")]
    public static int State(nint writer, ulong* committed, ulong* received, int* wasComplete)
    {
        try
        {
            if (committed is null || received is null || wasComplete is null) throw new ArgumentException("a null result pointer");
            var w = NativeSpans.Target<TeacherWriter>(writer);
            *committed = w.Committed;
            *received = w.Received;
            *wasComplete = w.WasComplete ? 1 : 0;
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>One sequence: tokens [length] and logits [length · V] (NULL with count 0 for a resent sequence).</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_append_logits")]
    public static int AppendLogits(nint writer, int* tokens, int length, float* logits, long count)
    {
        try
        {
            NativeSpans.Target<TeacherWriter>(writer).AppendLogits(NativeSpans.Of(tokens, length), NativeSpans.Of(logits, count));
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>
    /// One sequence with top-k lists: tokens [length], ids and log-probabilities [length · width], counts [length] or NULL
    /// (all width); ids and log-probabilities NULL for a resent sequence.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_append_top_k")]
    public static int AppendTopK(nint writer, int* tokens, int length, int* ids, float* logprobs, int width, int* counts)
    {
        try
        {
            var w = NativeSpans.Target<TeacherWriter>(writer);
            long entries = (long)Math.Max(0, length) * Math.Max(0, width);
            w.AppendTopK(
                NativeSpans.Of(tokens, length),
                ids is null ? default : NativeSpans.Of(ids, entries),
                logprobs is null ? default : NativeSpans.Of(logprobs, entries),
                width,
                counts is null ? default : NativeSpans.Of(counts, length));
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Completes the store; the handle still needs logitstore_writer_close.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_commit")]
    public static int Commit(nint writer)
    {
        try
        {
            NativeSpans.Target<TeacherWriter>(writer).Commit();
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Releases the writer; one that was not committed is aborted (the store keeps what it committed).</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_writer_close")]
    public static void Close(nint writer)
    {
        if (writer == 0) return;
        var handle = GCHandle.FromIntPtr(writer);
        try
        {
            (handle.Target as TeacherWriter)?.Dispose();
        }
        catch
        {
            // An abort stops the pack and keeps the committed state; nothing is left for the caller to do.
        }
        handle.Free();
    }

    private static TeacherWriterOptions Options(WriterOptionsAbi* o)
    {
        if (o is null) throw new ArgumentException("null writer options");
        if (o->StructSize != sizeof(WriterOptionsAbi))
            throw new ArgumentException(
                $"logitstore_writer_options of {o->StructSize} bytes; this library's has {sizeof(WriterOptionsAbi)} " +
                "(fill it with logitstore_writer_options_default)");
        if (o->PartCount == 0 && o->PartIndex != 0) throw new SettingException("part", $"index {o->PartIndex} without a part count");
        var p = new ProcessingOptions();
        var c = new CodecOptions();
        return new TeacherWriterOptions
        {
            VocabSize = o->VocabSize,
            TeacherId = o->TeacherId is null ? "" : Marshal.PtrToStringUTF8((nint)o->TeacherId)!,
            Processing = new ProcessingOptions
            {
                Method = Setting("method", o->Method, ProcessingOptions.ParseMethod, p.Method),
                Temperature = o->Temperature,
                TopP = o->TopP,
                TopK = o->TopK,
                Draws = o->Draws,
                Seed = o->Seed,
            },
            Codecs = new CodecOptions
            {
                Tokens = Setting("tokens_codec", o->TokensCodec, IdCodecSpec.Parse, c.Tokens),
                Ids = Setting("ids", o->Ids, IdCodecSpec.Parse, c.Ids),
                Values = Setting("values", o->Values, ValueCodecSpec.Parse, c.Values),
                ValueLogRange = o->ValueLogRange,
                MvqBeam = o->MvqBeam,
                DictionarySample = o->DictionarySample,
                ZstdLevel = o->ZstdLevel,
                SequencesPerBlock = o->SequencesPerBlock,
                ShardTargetBytes = o->ShardTargetBytes,
            },
            Part = o->PartCount == 0 ? null : new PartSpec(o->PartIndex, o->PartCount),
            FirstSequence = o->FirstSequence,
            Workers = o->Workers,
            Overwrite = (o->Flags & WriterOptionsAbi.OverwriteFlag) != 0,
            IdentitySeed = (o->Flags & WriterOptionsAbi.IdSeedFlag) != 0 ? o->IdSeed : null,
        };
    }

    /// <summary>A named setting's string parsed, or its default when NULL; a refused name names the setting.</summary>
    private static T Setting<T>(string name, byte* text, Func<string, T> parse, T fallback)
    {
        if (text is null) return fallback;
        string value = Marshal.PtrToStringUTF8((nint)text)!;
        try
        {
            return parse(value);
        }
        catch (ArgumentException ex)
        {
            throw new SettingException(name, $"'{value}': {ex.Message}");
        }
    }
}
