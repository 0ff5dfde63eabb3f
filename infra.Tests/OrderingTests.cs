using System.Collections.Concurrent;
using PieFed.Infra.Tests.Support;
using Pulumi;
using Pulumi.Utilities;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

public sealed class OrderingTests
{
    private const string DeploymentComponentType = "piefed:app:PieFedDeployment";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Instance_EachPart_ReceivesExactlyTheDependsOnOfTheRelease()
    {
        var dependsOn = await ExplicitDependenciesAsync(StackConfig.Prod);

        Assert.Empty(dependsOn[("piefed:core:AppNamespace", "piefed-namespace")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:migration:MigrationRbac", "piefed-migration-rbac")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:app:AppConfiguration", "piefed-config")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:data:MediaVolume", "piefed-media")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:app:WebEndpoint", "piefed-web")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:data:BackupVolume", "piefed-backups")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:network:NetworkAllowances", "piefed-network")]);
        Assert.Equal(["piefed-network"], dependsOn[("piefed:network:NetworkIsolation", "piefed-default-deny")]);
        Assert.Equal(["piefed-backups", "piefed-config", "piefed-network"], dependsOn[("piefed:migration:DatabaseMigration", "piefed-db-init")]);
        Assert.Equal(["piefed-db-init", "piefed-migration-rbac"], dependsOn[("piefed:data:DatabaseBackups", "piefed-db-backups")]);
        Assert.Equal(["piefed-db-init", "piefed-migration-rbac"], dependsOn[("piefed:app:PieFedDeployment", "piefed-web")]);
        Assert.Equal(["piefed-db-init", "piefed-migration-rbac"], dependsOn[("piefed:app:PieFedDeployment", "piefed-worker")]);
        Assert.Equal(["piefed-db-init", "piefed-migration-rbac"], dependsOn[("piefed:app:ScheduledTasks", "piefed-cron")]);
    }

    [Fact]
    public async Task Instance_BundledServers_AreUpBeforeTheMigration()
    {
        var dependsOn = await ExplicitDependenciesAsync(StackConfig.Dev);

        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:data:BundledServer", "piefed-postgres")]);
        Assert.Equal(["piefed-namespace"], dependsOn[("piefed:data:BundledServer", "piefed-redis")]);
        Assert.Equal(["piefed-backups", "piefed-config", "piefed-postgres", "piefed-redis"], dependsOn[("piefed:migration:DatabaseMigration", "piefed-db-init")]);
    }

    [Fact]
    public async Task Program_BundledPostgresHeldByTheProvider_TheJobWaitsForIt()
    {
        var order = await HoldAsync(StatefulSetType, "piefed-postgres", mustWait: [JobType, DeploymentType, CronJobType]);

        Assert.True(order.IndexOf((JobType, "piefed-db-init")) > order.IndexOf((StatefulSetType, "piefed-postgres")));
    }

    [Fact]
    public async Task Program_JobHeldByTheProvider_NoCronJobRegistersUntilItIsReleased()
    {
        var order = await HoldAsync(JobType, "piefed-db-init", mustWait: [CronJobType]);

        var jobRegistered = order.IndexOf((JobType, "piefed-db-init"));
        Assert.All(order.Select((r, i) => (r.Type, i)).Where(p => p.Type == CronJobType), p => Assert.True(p.i > jobRegistered));
    }

    [Fact]
    public async Task Program_JobHeldByTheProvider_NoDeploymentRegistersUntilItIsReleased()
    {
        var order = await HoldAsync(JobType, "piefed-db-init", mustWait: [DeploymentComponentType, DeploymentType]);

        var jobRegistered = order.IndexOf((JobType, "piefed-db-init"));
        Assert.All(Deployments(order), index => Assert.True(index > jobRegistered));
    }

    [Fact]
    public async Task Program_RoleBindingHeldByTheProvider_NoDeploymentRegistersUntilItIsReleased()
    {
        var order = await HoldAsync(RoleBindingType, "piefed-migration-rbac-binding", mustWait: [DeploymentComponentType, DeploymentType]);

        var bindingRegistered = order.IndexOf((RoleBindingType, "piefed-migration-rbac-binding"));
        Assert.All(Deployments(order), index => Assert.True(index > bindingRegistered));
    }

    [Fact]
    public async Task Program_BackupClaimHeldByTheProvider_TheJobWaitsForIt()
    {
        var order = await HoldAsync(PersistentVolumeClaimType, "piefed-backups", mustWait: [JobType, DeploymentType, CronJobType]);

        Assert.True(order.IndexOf((JobType, "piefed-db-init")) > order.IndexOf((PersistentVolumeClaimType, "piefed-backups")));
    }

    [Fact]
    public async Task Program_SecretHeldByTheProvider_TheJobWaitsForIt()
    {
        var order = await HoldAsync(SecretType, "piefed-config-secrets", mustWait: [JobType, DeploymentType]);

        Assert.True(order.IndexOf((JobType, "piefed-db-init")) > order.IndexOf((SecretType, "piefed-config-secrets")));
    }

    [Fact]
    public async Task Program_IsolatedAllowancesHeldByTheProvider_TheJobAndTheDefaultDenyWaitForThem()
    {
        var order = await HoldAsync(NetworkPolicyType, "piefed-network-egress", mustWait: [JobType, DeploymentType, CronJobType], NetworkIsolationTests.IsolatedDev);

        var allowed = order.IndexOf((NetworkPolicyType, "piefed-network-egress"));
        Assert.True(order.IndexOf((JobType, "piefed-db-init")) > allowed);
        Assert.True(order.IndexOf((NetworkPolicyType, "piefed-default-deny")) > allowed);
    }

    /// <summary>
    /// Holds one registration in the mock provider, as a slow real one would (the Kubernetes
    /// provider holds a Job until it completes), and checks that no resource of the types that
    /// must come after it reached the provider meanwhile. Returns the order in which
    /// registrations completed.
    /// </summary>
    private static async Task<List<(string Type, string Name)>> HoldAsync(string type, string name, string[] mustWait, StackConfig? config = null)
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var startedWhileHeld = new ConcurrentQueue<string>();
        var mocks = new RecordingMocks(async args =>
        {
            if (args.Type == type && args.Name == name)
            {
                held.SetResult();
                await release.Task;
            }
            else if (held.Task.IsCompleted && !release.Task.IsCompleted && !ProductionReadinessTests.Ungated.Contains(args.Name))
            {
                startedWhileHeld.Enqueue(args.Type!);
            }
        });

        var run = ProgramAsync(config ?? StackConfig.Dev, mocks: mocks);
        await held.Task.WaitAsync(Patience);
        // Everything that does not depend on the held resource gets the chance to register first.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var startedTooEarly = startedWhileHeld.Where(mustWait.Contains).ToList();
        release.SetResult();
        var result = await run.WaitAsync(Patience);

        Assert.Empty(startedTooEarly);
        return [.. result.Registrations.Select(r => (r.Type, r.Name))];
    }

    private static List<int> Deployments(List<(string Type, string Name)> order)
    {
        var indexes = order.Select((r, i) => (r.Type, r.Name, i)).Where(p => p.Type == DeploymentType && !ProductionReadinessTests.Ungated.Contains(p.Name)).Select(p => p.i).ToList();
        Assert.Equal(2, indexes.Count);
        return indexes;
    }

    private static async Task<Dictionary<(string Type, string Name), string[]>> ExplicitDependenciesAsync(StackConfig config)
    {
        var recorded = new ConcurrentDictionary<(string Type, string Name), InputList<Resource>>();
        await ObserveOptionsAsync(config, args =>
        {
            if (args.Resource is ComponentResource)
            {
                recorded[(args.Resource.GetResourceType(), args.Resource.GetResourceName())] = args.Options.DependsOn;
            }
        });

        var result = new Dictionary<(string Type, string Name), string[]>();
        foreach (var (resource, dependsOn) in recorded)
        {
            var resources = await OutputUtilities.GetValueAsync(dependsOn.ToOutput());
            result[resource] = [.. resources.Select(r => r.GetResourceName()).Order(StringComparer.Ordinal)];
        }

        return result;
    }
}
