using System.Globalization;
using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.Support;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The Role the program builds, proven by use: wait_for_migrations.py as shipped runs against a stand-in
/// API server that grants the ServiceAccount that Role's rules, as taken from the mocked stack, and
/// refuses every other request as RBAC would.
/// </summary>
public sealed class WaiterRoleTests
{
    private const string FailedMigrationLog = "migration crashed: relation \"post\" already exists";
    private const string OldJobName = "piefed-db-init-0a1b2c3";
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What the waiter requests for a Job that fails: read and watch it, list its pods, read their logs.</summary>
    private static readonly ApiAccess[] FailedJobAccess =
        [new("get", "jobs", "batch"), new("watch", "jobs", "batch"), new("list", "pods", ""), new("get", "pods/log", "")];

    /// <summary>What it requests to prune old Jobs once its own completed.</summary>
    private static readonly ApiAccess[] PruningAccess =
        [new("list", "jobs", "batch"), new("list", "replicasets", "apps"), new("list", "pods", ""), new("delete", "jobs", "batch")];

    public static TheoryData<string, string, string> AccessAFailedJobNeeds() => Data(FailedJobAccess);

    public static TheoryData<string, string, string> AccessThePruningNeeds() => Data(PruningAccess);

    [Fact]
    public void TheRunsBelow_TogetherUseEveryPermissionTheWaiterDeclares()
    {
        Assert.Equal(
            RoleAccess.Sorted(MigrationScripts.WaitForMigrationsApiPermissions()),
            RoleAccess.Sorted(FailedJobAccess.Union(PruningAccess)));
    }

    [Fact]
    public async Task ProgramsRole_LetsTheWaiterReleaseThePodWhenTheJobCompletes()
    {
        var program = await ProgramAsync();
        await using var api = await StandInKubernetesApi.StartAsync(granted: program.Role);
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, program.Selector);

        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.CompleteJob()));

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.DoesNotContain(waiter, "403 Forbidden");
    }

    [Fact]
    public async Task ProgramsRole_LetsTheWaiterPrintTheLogsOfAJobThatFails()
    {
        var program = await ProgramAsync();
        await using var api = await StandInKubernetesApi.StartAsync(granted: program.Role);
        var watch = StartJobThatWillFail(api);
        await using var waiter = StartWaiter(api, program.Selector);

        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.FailedJob()));

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.InOrder(
            waiter,
            $"logs of pod {PodName(api)}, container db-init",
            FailedMigrationLog,
            $"FAILED: the migration Job {api.Namespace}/{api.JobName} failed (see above)");
        OutputAssert.DoesNotContain(waiter, "403 Forbidden");
    }

    [Fact]
    public async Task ProgramsRole_LetsTheWaiterPruneAnOldJobOfTheProgramsMigration()
    {
        var program = await ProgramAsync();
        await using var api = await StandInKubernetesApi.StartAsync(granted: program.Role);
        AddJobHistory(api, program);
        await using var waiter = StartWaiter(api, program.Selector);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.DoesNotContain(OldJobName, api.JobNames());
        OutputAssert.Contains(waiter, $"deleted old migration Job {api.Namespace}/{OldJobName}");
        OutputAssert.DoesNotContain(waiter, "403 Forbidden");
    }

    [Theory]
    [MemberData(nameof(AccessThePruningNeeds))]
    public async Task ProgramsRoleLackingAPermissionThePruningNeeds_ReleasesThePodNamingTheMissingOne(string verb, string resource, string group)
    {
        var withheld = new ApiAccess(verb, resource, group);
        var program = await ProgramAsync();
        Assert.Contains(withheld, program.Role);
        await using var api = await StandInKubernetesApi.StartAsync(granted: program.Role.Where(access => access != withheld));
        AddJobHistory(api, program);
        await using var waiter = StartWaiter(api, program.Selector);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Contains(OldJobName, api.JobNames());
        var qualified = group.Length == 0 ? resource : $"{resource}.{group}";
        OutputAssert.InOrder(
            waiter,
            $"stopped pruning old migration Jobs, the pod starts all the same: 403 Forbidden: the pod's ServiceAccount may not {verb} {qualified} in namespace {api.Namespace}",
            "migrations done; releasing the pod");
    }

    [Theory]
    [MemberData(nameof(AccessAFailedJobNeeds))]
    public async Task ProgramsRoleLackingAnyOneOfItsPermissions_KeepsTheLogsFromTheOperatorNamingTheMissingOne(
        string verb, string resource, string group)
    {
        var withheld = new ApiAccess(verb, resource, group);
        var program = await ProgramAsync();
        Assert.Contains(withheld, program.Role);
        await using var api = await StandInKubernetesApi.StartAsync(granted: program.Role.Where(access => access != withheld));
        var watch = StartJobThatWillFail(api);
        await using var waiter = StartWaiter(api, program.Selector);

        // Failing the Job once it is watched makes the run use every permission: read the Job, watch it,
        // list its pods, read their logs.
        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.FailedJob()));

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        var qualified = group.Length == 0 ? resource : $"{resource}.{group}";
        OutputAssert.Contains(waiter, $"403 Forbidden: the pod's ServiceAccount may not {verb} {qualified} in namespace {api.Namespace}");
        OutputAssert.DoesNotContain(waiter, FailedMigrationLog);
    }

    private static TheoryData<string, string, string> Data(IEnumerable<ApiAccess> access)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (verb, resource, group) in access)
        {
            data.Add(verb, resource, group);
        }

        return data;
    }

    /// <summary>From the mocked stack: the waiter's Role, the migration Job's labels and the selector its init containers are given.</summary>
    private static async Task<ProgramFacts> ProgramAsync()
    {
        var run = await StackRun.ProgramAsync(StackConfig.Prod);
        var waiter = run.Deployment("web").Inputs.Objects("spec.template.spec.initContainers").Single(c => c.Str("name") == "wait-for-migrations");
        return new ProgramFacts(
            RoleAccess.Of(run.Single(StackRun.RoleType).Inputs),
            run.Single(StackRun.JobType).Inputs.At("metadata.labels")!.AsObject().ToDictionary(l => l.Key, l => l.Value!.GetValue<string>()),
            waiter.Objects("env").Single(e => e.Str("name") == "MIGRATION_JOBS_SELECTOR").Str("value")!);
    }

    /// <summary>An old Job nothing waits for, the previous release's, and this release's, complete, all labelled as the program labels its Job.</summary>
    private static void AddJobHistory(StandInKubernetesApi api, ProgramFacts program)
    {
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), OldJobName, 10, program.MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), "piefed-db-init-4d5e6f7", 20, program.MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 30, program.MigrationLabels));
    }

    private static string PodName(StandInKubernetesApi api) => $"{api.JobName}-aaaaa";

    /// <summary>A running Job with a pod, and the task that completes when the waiter watches the Job.</summary>
    private static Task<RecordedRequest> StartJobThatWillFail(StandInKubernetesApi api)
    {
        api.SetJob(api.RunningJob());
        api.AddPod(PodName(api), 1, "batch.kubernetes.io/job-name", [], [new ContainerRun("db-init", FailedMigrationLog,
            new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error" } })]);
        return api.NextWatchAsync();
    }

    /// <summary>
    /// Changes the Job once the waiter watches it. A waiter refused before it could watch has exited instead,
    /// and the test's assertions show its output.
    /// </summary>
    private static async Task OnceWatchedAsync(Task<RecordedRequest> watch, ScriptProcess waiter, Action changeTheJob)
    {
        if (await Task.WhenAny(watch, waiter.WaitForExitAsync(HardTimeout)) == watch)
        {
            changeTheJob();
        }
    }

    /// <summary>Starts the waiter with what the program gives it: the Job's name, its deadline, the selector of the migration Jobs.</summary>
    private static ScriptProcess StartWaiter(StandInKubernetesApi api, string selector)
    {
        var environment = api.WaiterEnvironment();
        environment["MIGRATION_JOBS_SELECTOR"] = selector;
        environment["WAIT_TIMEOUT_SECONDS"] = "120";
        // Longer than any test: only the watch's own events can move the waiter on.
        environment["WAIT_PROGRESS_INTERVAL_SECONDS"] = (2 * HardTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return ScriptProcess.Start(MigrationScripts.WaitForMigrations, MigrationScripts.WaitForMigrationsFileName, environment);
    }

    private sealed record ProgramFacts(IReadOnlyList<ApiAccess> Role, Dictionary<string, string> MigrationLabels, string Selector);
}
