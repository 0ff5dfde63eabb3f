using BenchmarkDotNet.Running;
using PieFed.Infra.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(StackEvaluationBenchmarks).Assembly).Run(args);
