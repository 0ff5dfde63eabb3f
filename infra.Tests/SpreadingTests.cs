using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

public sealed class SpreadingTests
{
    private const string Node = "kubernetes.io/hostname";
    private const string Zone = "topology.kubernetes.io/zone";

    private static readonly string[] SpreadComponents = ["web", "worker"];

    public static TheoryData<string> Components => [.. SpreadComponents];

    [Theory]
    [MemberData(nameof(Components))]
    public async Task Program_Default_SpreadsEachComponentSoftlyOverNodesAndZones(string component)
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var constraints = Constraints(run, component);
        Assert.Equal([Node, Zone], constraints.Select(c => c.Str("topologyKey")));
        Assert.All(constraints, c =>
        {
            Assert.Equal(1, c.At("maxSkew")!.GetValue<double>());
            Assert.Equal("ScheduleAnyway", c.Str("whenUnsatisfiable"));
            Assert.Equal(
                new Dictionary<string, string> { ["app.kubernetes.io/name"] = "piefed", ["app.kubernetes.io/component"] = component },
                c.At("labelSelector.matchLabels")!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()));
            // A rollout's surge pod is placed among its own revision, not pushed off by the pods it replaces.
            Assert.Equal(["pod-template-hash"], c.Array("matchLabelKeys").Select(k => k!.GetValue<string>()));
        });
    }

    [Theory]
    [MemberData(nameof(Components))]
    public async Task Program_HardMode_LeavesPodsPendingRatherThanStacked(string component)
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("spread", "mode", "hard"));

        var constraints = Constraints(run, component);
        Assert.Equal([Node, Zone], constraints.Select(c => c.Str("topologyKey")));
        Assert.All(constraints, c => Assert.Equal("DoNotSchedule", c.Str("whenUnsatisfiable")));
    }

    [Fact]
    public async Task Program_ZonesOff_SpreadsOverNodesOnly()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("spread", "zones", false));

        Assert.All(SpreadComponents, component =>
            Assert.Equal([Node], Constraints(run, component).Select(c => c.Str("topologyKey"))));
    }

    [Fact]
    public async Task Program_Disabled_LeavesPlacementToTheScheduler()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("spread", "mode", "disabled"));

        Assert.All(SpreadComponents, component => Assert.Empty(Constraints(run, component)));
    }

    private static List<JsonObject> Constraints(StackRun run, string component)
        => [.. run.Deployment(component).Inputs.Objects("spec.template.spec.topologySpreadConstraints")];
}
