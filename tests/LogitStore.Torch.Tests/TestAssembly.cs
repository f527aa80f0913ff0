// libtorch's state is process-wide (the global RNG that torch.random.manual_seed sets, its thread pools): tests that
// seed a model and then build it must not interleave with another test doing the same, so this assembly runs its
// test classes one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
