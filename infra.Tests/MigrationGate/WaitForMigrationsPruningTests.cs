using System.Globalization;
using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// The pruning of old migration Jobs by wait_for_migrations.py as shipped, run as a process against
/// <see cref="StandInKubernetesApi"/>: once its own Job has completed, it deletes this instance's Jobs
/// from before the previous release that have finished and that no pod, nor a ReplicaSet that would create
/// one, names in JOB_NAME; and whatever the pruning does, the pod is released as before.
/// </summary>
public sealed class WaitForMigrationsPruningTests
{
    private const string Selector = "app.kubernetes.io/name=piefed,app.kubernetes.io/component=db-init";

    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string> MigrationLabels = new()
    {
        ["app.kubernetes.io/name"] = "piefed",
        ["app.kubernetes.io/component"] = "db-init",
        ["app.kubernetes.io/managed-by"] = "pulumi",
    };

    // The Jobs of the daily backup: they carry their CronJob's pod template labels.
    private static readonly Dictionary<string, string> BackupLabels = new()
    {
        ["app.kubernetes.io/name"] = "piefed",
        ["app.kubernetes.io/component"] = "db-backup",
        ["app.kubernetes.io/managed-by"] = "pulumi",
    };

    [Fact]
    public async Task CompletedJob_DeletesTheOldJobsNothingWaitsForAndKeepsTheRest()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        // Created in this order, which is not the order of their names: the order of creation is what counts.
        const string unused = "piefed-db-init-e1a0c3";
        const string heldOnlyByAStoppedReplicaSet = "piefed-db-init-b7d2f1";
        const string waitedForByAPod = "piefed-db-init-f04b9e";
        const string heldByAScaledReplicaSet = "piefed-db-init-a3c8d5";
        const string previous = "piefed-db-init-d9e6b2";
        const string newer = "piefed-db-init-0c4f7a";
        const string backup = "piefed-db-backup-29871234";
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), backup, 5, BackupLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), unused, 10, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), heldOnlyByAStoppedReplicaSet, 20, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.FailedJob(), waitedForByAPod, 30, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), heldByAScaledReplicaSet, 40, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), previous, 50, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 60, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), newer, 70, MigrationLabels));
        api.AddPod($"{unused}-aaaaa", 1, "batch.kubernetes.io/job-name", [], [new ContainerRun("db-init", "migrated")], unused);
        api.AddPod($"{backup}-bbbbb", 1, "batch.kubernetes.io/job-name", [], [new ContainerRun("db-init", "dumped")], backup);
        api.AddGatedPod("piefed-web-7f9c4d-x2k8p", waitedForByAPod);
        api.AddGatedReplicaSet("piefed-web-5b8d7c", 0, heldOnlyByAStoppedReplicaSet);
        api.AddGatedReplicaSet("piefed-worker-6c9e8f", 2, heldByAScaledReplicaSet);
        var listedUids = api.JobNames().ToDictionary(name => name, name => Uid(api.FindJob(name)!));

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal(
            new[] { api.JobName, backup, newer, previous, waitedForByAPod, heldByAScaledReplicaSet }.Order(StringComparer.Ordinal),
            api.JobNames());
        // Deleted in the background: the unused Job's pod went with it, the backup's stayed.
        Assert.Equal([$"{backup}-bbbbb", "piefed-web-7f9c4d-x2k8p"], api.PodNames());
        var deletes = api.Requests.Where(request => request.Method == "DELETE").ToList();
        Assert.Equal(
            [$"/apis/batch/v1/namespaces/piefed/jobs/{unused}", $"/apis/batch/v1/namespaces/piefed/jobs/{heldOnlyByAStoppedReplicaSet}"],
            deletes.Select(request => request.Path));
        Assert.All(deletes, request =>
        {
            var options = JsonNode.Parse(request.Body)!;
            Assert.Equal("DeleteOptions", options["kind"]!.GetValue<string>());
            Assert.Equal("Background", options["propagationPolicy"]!.GetValue<string>());
            Assert.Equal(listedUids[request.Path.Split('/')[^1]], options["preconditions"]!["uid"]!.GetValue<string>());
        });
        Assert.Equal(Selector, api.Requests.Single(request => request.Path.EndsWith("/jobs", StringComparison.Ordinal)).Query["labelSelector"]);
        OutputAssert.InOrder(
            waiter,
            $"wait-for-migrations: deleted old migration Job piefed/{unused} (created 1970-01-01T00:10:00Z), complete, and its pods",
            $"wait-for-migrations: deleted old migration Job piefed/{heldOnlyByAStoppedReplicaSet} (created 1970-01-01T00:20:00Z), complete, and its pods",
            $"wait-for-migrations: kept old migration Job piefed/{waitedForByAPod} (created 1970-01-01T00:30:00Z): pod piefed-web-7f9c4d-x2k8p names it in JOB_NAME",
            $"wait-for-migrations: kept old migration Job piefed/{heldByAScaledReplicaSet} (created 1970-01-01T00:40:00Z): ReplicaSet piefed-worker-6c9e8f (2 replicas) names it in JOB_NAME",
            "wait-for-migrations: migrations done; releasing the pod");
        OutputAssert.DoesNotContain(waiter, previous);
        OutputAssert.DoesNotContain(waiter, newer);
    }

    [Fact]
    public async Task OldJobThatHasNotFinished_IsKept()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        const string running = "piefed-db-init-1a2b3c";
        const string suspended = "piefed-db-init-4d5e6f";
        const string failing = "piefed-db-init-7a8b9c";
        api.SetJob(StandInKubernetesApi.Named(api.RunningJob(), running, 10, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(
            api.Job(conditions: [new JobCondition("Suspended", "True", "JobSuspended", "Job suspended")]), suspended, 20, MigrationLabels));
        // Since Kubernetes 1.31 FailureTarget comes first, while the failed pods are still being removed: finished all the same.
        api.SetJob(StandInKubernetesApi.Named(
            api.Job(failed: 1, conditions: [new JobCondition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]),
            failing, 30, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), "piefed-db-init-0d1e2f", 40, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 50, MigrationLabels));

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Contains(running, api.JobNames());
        Assert.Contains(suspended, api.JobNames());
        Assert.DoesNotContain(failing, api.JobNames());
        Assert.Equal($"/apis/batch/v1/namespaces/piefed/jobs/{failing}", Assert.Single(api.Requests, request => request.Method == "DELETE").Path);
        OutputAssert.Contains(waiter, $"kept old migration Job piefed/{running} (created 1970-01-01T00:10:00Z): it has not finished");
        OutputAssert.Contains(waiter, $"kept old migration Job piefed/{suspended} (created 1970-01-01T00:20:00Z): it has not finished");
    }

    [Fact]
    public async Task JobsCreatedInTheSameSecond_AreOrderedByName()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        // Listed in the order they were created; by name the last one listed comes first, so it is the older.
        const string later = "piefed-db-init-c2";
        const string earlier = "piefed-db-init-c1";
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), later, 50, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), earlier, 50, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 60, MigrationLabels));

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal([api.JobName, later], api.JobNames());
    }

    [Fact]
    public async Task OwnJobNotSelected_PrunesNothing()
    {
        // Which Jobs are older than this release's cannot be told without it among them.
        await using var api = await StandInKubernetesApi.StartAsync();
        AddDeletableHistory(api);
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 40, BackupLabels));

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal(4, api.JobNames().Count);
        Assert.DoesNotContain(api.Requests, request => request.Method == "DELETE");
        OutputAssert.Contains(waiter, $"pruning no old migration Job: Job {api.JobName} is not among those labelled {Selector}");
    }

    [Fact]
    public async Task WithoutTheSelector_NothingIsListedOrDeleted()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        AddDeletableHistory(api);

        await using var waiter = StartWaiter(api, selector: null);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.All(api.Requests, request =>
        {
            Assert.Equal("GET", request.Method);
            Assert.Equal($"/apis/batch/v1/namespaces/piefed/jobs/{api.JobName}", request.Path);
        });
        Assert.Equal(4, api.JobNames().Count);
        OutputAssert.DoesNotContain(waiter, "prun");
    }

    [Fact]
    public async Task OwnJobFailed_PrunesNothingAndFailsAsBefore()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        AddDeletableHistory(api);
        api.SetJob(StandInKubernetesApi.Named(api.FailedJob(), api.JobName, 60, MigrationLabels));

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        Assert.Equal(4, api.JobNames().Count);
        Assert.DoesNotContain(api.Requests, request => request.Method == "DELETE" || (request.Query.ContainsKey("labelSelector") && request.Path.EndsWith("/jobs", StringComparison.Ordinal)));
        OutputAssert.Contains(waiter, $"FAILED: the migration Job piefed/{api.JobName} failed");
    }

    [Fact]
    public async Task DeleteNotGranted_ReleasesThePodNamingTheMissingPermission()
    {
        var withheld = new ApiAccess("delete", "jobs", "batch");
        var declared = MigrationScripts.WaitForMigrationsApiPermissions();
        Assert.Contains(withheld, declared);
        await using var api = await StandInKubernetesApi.StartAsync(granted: declared.Where(access => access != withheld));
        AddDeletableHistory(api);

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal(4, api.JobNames().Count);
        // The first refusal ends the pruning: the second deletable Job is not tried.
        Assert.Single(api.Requests, request => request.Method == "DELETE");
        OutputAssert.InOrder(
            waiter,
            "wait-for-migrations: stopped pruning old migration Jobs, the pod starts all the same: 403 Forbidden: the pod's ServiceAccount may not delete jobs.batch in namespace piefed",
            "{apiGroups: [\"batch\"], resources: [\"jobs\"], verbs: [\"delete\"]}",
            "wait-for-migrations: migrations done; releasing the pod");
    }

    [Theory]
    [InlineData("/replicasets", 503, """{"kind":"Status","message":"etcd leader changed","code":503}""", "the API server answered 503 Service Unavailable to GET /apis/apps/v1/namespaces/piefed/replicasets: etcd leader changed")]
    [InlineData("/pods", 200, """{"kind":"PodList","items":[{"metad""", "unreadable answer to GET /api/v1/namespaces/piefed/pods")]
    [InlineData("/pods", 200, """{"kind":"PodList","items":{}}""", "unreadable answer to GET /api/v1/namespaces/piefed/pods: not a list of objects with metadata")]
    [InlineData("/pods", 200, """{"kind":"PodList","items":[{"metadata":{"name":"p"},"spec":{"containers":["web"]}}]}""", "AttributeError: 'str' object has no attribute 'get'")]
    [InlineData("/jobs", 400, """{"kind":"Status","message":"unable to parse requirement","code":400}""", "the API server answered 400 Bad Request to GET /apis/batch/v1/namespaces/piefed/jobs: unable to parse requirement")]
    public async Task ApiErrorWhilePruning_EndsThePruningAndReleasesThePod(string pathSuffix, int statusCode, string body, string expected)
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        AddDeletableHistory(api);
        api.Fail(pathSuffix, int.MaxValue, statusCode, body);

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal(4, api.JobNames().Count);
        OutputAssert.InOrder(
            waiter,
            $"wait-for-migrations: stopped pruning old migration Jobs, the pod starts all the same: {expected}",
            "wait-for-migrations: migrations done; releasing the pod");
        Assert.Equal(1, ScriptProcess.CountOccurrences(waiter.Output, "stopped pruning"));
    }

    [Fact]
    public async Task JobReplacedBetweenListAndDelete_SurvivesAndThePruningGoesOn()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        var (first, second) = AddDeletableHistory(api);
        var listedUid = Uid(api.FindJob(first)!);
        string? replacementUid = null;
        api.WhenJobsListed(() =>
        {
            api.DeleteJob(first);
            api.SetJob(StandInKubernetesApi.Named(api.RunningJob(), first, 65, MigrationLabels));
            replacementUid = Uid(api.FindJob(first)!);
        });

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.NotNull(replacementUid);
        Assert.NotEqual(listedUid, replacementUid);
        Assert.Equal(replacementUid, Uid(api.FindJob(first)!));
        Assert.DoesNotContain(second, api.JobNames());
        Assert.Equal(2, api.Requests.Count(request => request.Method == "DELETE"));
        OutputAssert.InOrder(
            waiter,
            $"kept migration Job piefed/{first}: it was replaced since it was listed",
            $"deleted old migration Job piefed/{second}");
    }

    /// <summary>Two deletable old Jobs, the previous release's and this release's completed one; returns the deletable ones, oldest first.</summary>
    private static (string First, string Second) AddDeletableHistory(StandInKubernetesApi api)
    {
        const string first = "piefed-db-init-aa11";
        const string second = "piefed-db-init-bb22";
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), first, 10, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), second, 20, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), "piefed-db-init-cc33", 30, MigrationLabels));
        api.SetJob(StandInKubernetesApi.Named(api.CompleteJob(), api.JobName, 40, MigrationLabels));
        return (first, second);
    }

    private static string Uid(JsonObject job) => job["metadata"]!["uid"]!.GetValue<string>();

    private static ScriptProcess StartWaiter(StandInKubernetesApi api, string? selector = Selector)
    {
        var environment = api.WaiterEnvironment();
        environment["WAIT_TIMEOUT_SECONDS"] = "120";
        environment["WAIT_PROGRESS_INTERVAL_SECONDS"] = (2 * HardTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        if (selector is not null)
        {
            environment["MIGRATION_JOBS_SELECTOR"] = selector;
        }

        return ScriptProcess.Start(MigrationScripts.WaitForMigrations, MigrationScripts.WaitForMigrationsFileName, environment);
    }
}
