using BenchmarkDotNet.Attributes;
using PieFed.Infra.Tests.Support;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Testing;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Benchmarks;

/// <summary>
/// What one `pulumi preview`/`up` costs the program itself: the whole stack evaluated under
/// mocks, against a program that registers a single Namespace.
/// </summary>
[MemoryDiagnoser]
public class StackEvaluationBenchmarks
{
    private readonly TestOptions _options = new() { IsPreview = false, StackName = "bench", ProjectName = "piefed" };
    private string? _previousConfig;

    [Params("dev", "prod")]
    public string Stack { get; set; } = "dev";

    [GlobalSetup]
    public void SetConfiguration()
    {
        _previousConfig = Environment.GetEnvironmentVariable("PULUMI_CONFIG");
        var config = (Stack == "dev" ? StackConfig.Dev : StackConfig.Prod);
        Environment.SetEnvironmentVariable("PULUMI_CONFIG", config.ToPulumiConfigJson());
    }

    [GlobalCleanup]
    public void RestoreConfiguration() => Environment.SetEnvironmentVariable("PULUMI_CONFIG", _previousConfig);

    [Benchmark(Baseline = true)]
    public Task OneNamespace()
        => Deployment.TestAsync(new RecordingMocks().Mock.Object, _options, () =>
            new CoreV1.Namespace("baseline", new NamespaceArgs()));

    [Benchmark]
    public Task WholeStack()
        => Deployment.TestAsync(new RecordingMocks().Mock.Object, _options, PieFedProgram.Run);
}
