namespace LogitStore.Format;

/// <summary>Magic numbers, versions and fixed sizes of format-spec/README.md.</summary>
internal static class FormatConstants
{
    public const ushort MajorVersion = 1;
    public const ushort MinorVersion = 5;

    public static ReadOnlySpan<byte> ShardMagic => "LGSTSHRD"u8;
    public static ReadOnlySpan<byte> FooterMagic => "LGSTFOOT"u8;
    public static ReadOnlySpan<byte> BlockMagic => "LGBK"u8;

    public const int ShardHeaderSize = 64;
    public const int ShardFooterSize = 64;
    public const int BlockIndexEntrySize = 32;
    public const int BlockHeaderSize = 32;
    public const int ColumnDescriptorSize = 24;
    public const int BlockChecksumSize = 8;
    public const int Alignment = 8;

    public const string ManifestFileName = "manifest.json";
    public const string ShardDirectory = "shards";
    public const string ShardExtension = ".lss";
    public const string TempSuffix = ".tmp";
    public const string WriterLockFileName = "writer.lock";
    public const string DictionaryDirectory = "dictionaries";
    public const string DictionaryExtension = ".lsd";
    public static ReadOnlySpan<byte> DictionaryMagic => "LGSTDICT"u8;
    public const int DictionaryHeaderSize = 64;

    public static string ShardFileName(int index) => $"{ShardDirectory}/shard-{index:D5}{ShardExtension}";

    public static int AlignUp(int value) => (value + Alignment - 1) & ~(Alignment - 1);
}
