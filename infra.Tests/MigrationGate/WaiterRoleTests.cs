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
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string, string> DeclaredAccess()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var access in MigrationScripts.WaitForMigrationsApiPermissions())
        {
            data.Add(access.Verb, access.Resource, access.Group);
        }

        return data;
    }

    [Fact]
    public async Task ProgramsRole_LetsTheWaiterReleaseThePodWhenTheJobCompletes()
    {
        await using var api = await StandInKubernetesApi.StartAsync(granted: await ProgramsRoleAsync());
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api);

        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.CompleteJob()));

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.DoesNotContain(waiter, "403 Forbidden");
    }

    [Fact]
    public async Task ProgramsRole_LetsTheWaiterPrintTheLogsOfAJobThatFails()
    {
        await using var api = await StandInKubernetesApi.StartAsync(granted: await ProgramsRoleAsync());
        var watch = StartJobThatWillFail(api);
        await using var waiter = StartWaiter(api);

        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.FailedJob()));

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.InOrder(
            waiter,
            $"logs of pod {PodName(api)}, container db-init",
            FailedMigrationLog,
            $"FAILED: the migration Job {api.Namespace}/{api.JobName} failed (see above)");
        OutputAssert.DoesNotContain(waiter, "403 Forbidden");
    }

    [Theory]
    [MemberData(nameof(DeclaredAccess))]
    public async Task ProgramsRoleLackingAnyOneOfItsPermissions_KeepsTheLogsFromTheOperatorNamingTheMissingOne(
        string verb, string resource, string group)
    {
        var withheld = new ApiAccess(verb, resource, group);
        var role = await ProgramsRoleAsync();
        Assert.Contains(withheld, role);
        await using var api = await StandInKubernetesApi.StartAsync(granted: role.Where(access => access != withheld));
        var watch = StartJobThatWillFail(api);
        await using var waiter = StartWaiter(api);

        // Failing the Job once it is watched makes the run use every permission: read the Job, watch it,
        // list its pods, read their logs.
        await OnceWatchedAsync(watch, waiter, () => api.SetJob(api.FailedJob()));

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        var qualified = group.Length == 0 ? resource : $"{resource}.{group}";
        OutputAssert.Contains(waiter, $"403 Forbidden: the pod's ServiceAccount may not {verb} {qualified} in namespace {api.Namespace}");
        OutputAssert.DoesNotContain(waiter, FailedMigrationLog);
    }

    private static async Task<IReadOnlyList<ApiAccess>> ProgramsRoleAsync()
    {
        var run = await StackRun.ProgramAsync(StackConfig.Prod);
        return RoleAccess.Of(run.Single(StackRun.RoleType).Inputs);
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

    private static ScriptProcess StartWaiter(StandInKubernetesApi api)
    {
        var environment = api.WaiterEnvironment();
        environment["WAIT_TIMEOUT_SECONDS"] = "120";
        // Longer than any test: only the watch's own events can move the waiter on.
        environment["WAIT_PROGRESS_INTERVAL_SECONDS"] = (2 * HardTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return ScriptProcess.Start(MigrationScripts.WaitForMigrations, MigrationScripts.WaitForMigrationsFileName, environment);
    }
}
