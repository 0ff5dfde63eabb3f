using System.Collections.Concurrent;
using PieFed.Infra.Tests.Support;
using Pulumi;
using Pulumi.Testing;
using Pulumi.Utilities;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

public sealed class OrderingTests
{
    private const string DeploymentComponentType = "piefed:app:PieFedDeployment";
    private const string MigrationComponentType = "piefed:migration:DatabaseMigration";

    /// <summary>Everything that runs PieFed's code, all of it declared after the migration and the RBAC.</summary>
    private static readonly string[] AfterTheMigration =
        [DeploymentComponentType, DeploymentType, "piefed:app:ScheduledTasks", "piefed:data:DatabaseBackups", CronJobType];

    private static readonly string[] TheMigrationAndAfter = [MigrationComponentType, JobType, .. AfterTheMigration];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static StackConfig Restoring(StackConfig config) => config.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest");

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
    public async Task Instance_ADeclaredRestore_ComesAfterItsVolumeAndBeforeTheMigration()
    {
        var dependsOn = await ExplicitDependenciesAsync(Restoring(StackConfig.Prod));

        Assert.Equal(["piefed-backups", "piefed-config", "piefed-network"], dependsOn[("piefed:data:DatabaseRestore", "piefed-db-restore")]);
        Assert.Equal(["piefed-backups", "piefed-config", "piefed-db-restore", "piefed-network"], dependsOn[("piefed:migration:DatabaseMigration", "piefed-db-init")]);
    }

    [Fact]
    public async Task Program_DeclaredRestoreNeverCompletes_NothingFromTheMigrationOnIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((JobType, "piefed-db-restore"), TheMigrationAndAfter, Restoring(StackConfig.Dev));
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
    public async Task Program_BundledPostgresNeverReady_NothingFromTheMigrationOnIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((StatefulSetType, "piefed-postgres"), TheMigrationAndAfter, alsoHeldBack: Notifications);
    }

    [Fact]
    public async Task Program_JobNeverCompletes_NoDeploymentOrCronJobIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((JobType, "piefed-db-init"), AfterTheMigration);
    }

    [Fact]
    public async Task Program_RoleBindingFailing_NoDeploymentOrCronJobIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((RoleBindingType, "piefed-migration-rbac-binding"), AfterTheMigration);
    }

    [Fact]
    public async Task Program_BackupClaimFailing_NothingFromTheMigrationOnIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((PersistentVolumeClaimType, "piefed-backups"), TheMigrationAndAfter);
    }

    [Fact]
    public async Task Program_AppSecretFailing_NothingFromTheMigrationOnIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync((SecretType, "piefed-config-secrets"), TheMigrationAndAfter, alsoHeldBack: Notifications);
    }

    [Fact]
    public async Task Program_IsolatedAllowancesFailing_NeitherTheMigrationNorTheDefaultDenyIsCreated()
    {
        await AssertAFailureHoldsBackExactlyAsync(
            (NetworkPolicyType, "piefed-network-egress"), TheMigrationAndAfter, NetworkIsolationTests.IsolatedDev,
            [(NetworkPolicyType, "piefed-default-deny"), ("piefed:network:NetworkIsolation", "piefed-default-deny")]);
    }

    /// <summary>The notifications service waits for the app's configuration and servers, though not for the migration.</summary>
    private static readonly (string Type, string Name)[] Notifications =
        [(DeploymentType, "piefed-notifications"), ("piefed:app:PieFedDeployment", "piefed-notifications")];

    /// <summary>
    /// Fails one registration in the mock provider, as the Kubernetes provider fails an object that
    /// never becomes ready (it holds a Job until it completes, a StatefulSet until its pods are
    /// ready), and checks that exactly the resources of the given types, out of an ordinary run,
    /// never reached the provider. Whatever waits for the failed registration fails with it
    /// without reaching the provider, and everything else gets there, so the outcome depends on
    /// the program's dependencies alone and not on how long the test waits.
    /// </summary>
    /// <param name="alsoHeldBack">Resources, beside the types' own, that wait for the failing one too.</param>
    private static async Task AssertAFailureHoldsBackExactlyAsync(
        (string Type, string Name) failing, string[] heldBackTypes, StackConfig? config = null, (string Type, string Name)[]? alsoHeldBack = null)
    {
        config ??= StackConfig.Dev;
        var ordinary = (await ProgramAsync(config)).Registrations.Select(r => (r.Type, r.Name)).ToList();
        Assert.Contains(failing, ordinary);

        var reached = await ReachingTheProviderAsync(config, failing);

        // The notifications service never touches the database, so it waits for none of this.
        var expected = ordinary
            .Where(r => r != failing && ((heldBackTypes.Contains(r.Type) && r.Name != "piefed-notifications") || (alsoHeldBack ?? []).Contains(r)))
            .Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, ordinary.Where(r => r != failing && !reached.Contains(r)).Order());
    }

    /// <summary>
    /// The registrations that reached the provider in a run where one of them fails, once every
    /// resource has registered or failed. The program runs in a stack whose transformation sees
    /// every resource as it is created, so that the test knows what to wait for.
    /// </summary>
    private static async Task<HashSet<(string Type, string Name)>> ReachingTheProviderAsync(StackConfig config, (string Type, string Name) failing)
    {
        var resources = new ConcurrentQueue<Resource>();
        var mocks = new RecordingMocks(args => (args.Type, args.Name) == failing
            ? Task.FromException(new InvalidOperationException($"{failing.Name} never became ready."))
            : Task.CompletedTask);
        var error = await MockDeployments.RunAsync(async () =>
        {
            using var _ = PulumiConfigEnvironment.Set(config);
            return await Assert.ThrowsAnyAsync<Exception>(() => Pulumi.Deployment.TestWithServiceProviderAsync<ObservedStack>(
                mocks.Mock.Object,
                new ObservedStackFactory(resources.Enqueue),
                new TestOptions { IsPreview = false, StackName = config.StackName, ProjectName = "piefed" }));
        });
        Assert.Contains($"{failing.Name} never became ready.", error.Message, StringComparison.Ordinal);
        // The run reports the first error; the other registrations go on until each succeeds or fails.
        var settled = Task.WhenAll(resources.Select(r => OutputUtilities.GetValueAsync(r.Urn)));
        await Task.WhenAny(settled, Task.Delay(Patience));
        Assert.True(settled.IsCompleted, $"Some registrations neither succeeded nor failed within {Patience}.");

        return [.. mocks.Registrations.Select(r => (r.Type, r.Name))];
    }

    /// <summary>The program's stack, handing every resource to an observer as the program creates it.</summary>
    private sealed class ObservedStack : Stack
    {
        public ObservedStack(Action<Resource> observe)
            : base(new StackOptions
            {
                ResourceTransformations =
                {
                    args =>
                    {
                        observe(args.Resource);
                        return null;
                    },
                },
            })
            => PieFedProgram.Run();
    }

    private sealed class ObservedStackFactory(Action<Resource> observe) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(ObservedStack) ? new ObservedStack(observe) : null;
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
