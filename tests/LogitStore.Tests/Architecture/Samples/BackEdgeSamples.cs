// Two layers with one deliberate back edge, for the layer test's own test (LayerTests.ABackEdge_IsFound_AndNamed).
namespace LogitStore.Tests.Architecture.Samples.Writing
{
    public static class SampleWriter
    {
        public static int Write(Format.SampleHeader header) => header.Length;
    }
}

namespace LogitStore.Tests.Architecture.Samples.Format
{
    public sealed record SampleHeader(int Length)
    {
        /// <summary>The back edge: a format type that calls the writer.</summary>
        public int Rewritten() => Writing.SampleWriter.Write(this);
    }
}
