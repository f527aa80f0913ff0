namespace LogitStore;

/// <summary>
/// A setting that cannot be used, named as the library names it (<see cref="Setting"/>: <c>tokens</c>,
/// <c>vocab_size</c>, <c>ids</c>, ...). An application maps the name to its own words (a CLI flag, a keyword argument).
/// </summary>
public sealed class SettingException(string setting, string detail) : ArgumentException($"{setting} {detail}")
{
    /// <summary>The setting's name, in the words of the options records and the manifest.</summary>
    public string Setting { get; } = setting;

    /// <summary>What is wrong with it, to follow the setting's name.</summary>
    public string Detail { get; } = detail;
}

/// <summary>A new store was asked for where a store already is, without leave to replace it.</summary>
public sealed class StoreExistsException(string directory)
    : IOException($"{directory} already holds a store: finish it (resume) or replace it (overwrite)")
{
    public string Directory { get; } = directory;
}

/// <summary>A complete store was needed (merge, read) and the store's last pack never finished.</summary>
public sealed class StoreIncompleteException(string directory)
    : InvalidOperationException($"{directory} is not complete: finish its pack (resume) first")
{
    public string Directory { get; } = directory;
}

/// <summary>A stream holds one part of a partitioned pack, and the pack was not told which part it writes.</summary>
public sealed class PartRequiredException(string stream, ulong firstSequence)
    : ArgumentException($"{stream}: the stream starts at sequence {firstSequence}: it is one part of a pack; say which part")
{
    public string Stream { get; } = stream;
    public ulong FirstSequence { get; } = firstSequence;
}

/// <summary>A fidelity measurement needs a reference store, because the store's teacher cannot be run again here.</summary>
public sealed class ReferenceRequiredException(string storeId, string sourceKind)
    : InvalidOperationException(
        $"store {storeId}: its source ('{sourceKind}') cannot be regenerated here: give a reference store (the same " +
        "sequences packed with f32 values, or method full)")
{
    public string StoreId { get; } = storeId;
    public string SourceKind { get; } = sourceKind;
}
