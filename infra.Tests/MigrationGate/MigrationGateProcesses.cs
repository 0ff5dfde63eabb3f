
namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The gate's tests start processes, servers and loopback ports and measure seconds: they run one at a
/// time even if the assembly ever allows parallel collections.
/// </summary>
[CollectionDefinition(Name)]
public sealed class MigrationGateProcesses
{
    public const string Name = "MigrationGate";
}
