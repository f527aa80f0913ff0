using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(LogitStore.Benchmarks.BlockCodecBenchmarks).Assembly).Run(args);
