using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// wait_for_migrations.py exactly as shipped, run as a process against <see cref="StandInKubernetesApi"/>:
/// a real API server cannot run here, so the stand-in serves its endpoints over HTTPS on loopback with
/// a ServiceAccount directory (token, ca.crt, namespace) of its own.
/// </summary>
public sealed class WaitForMigrationsTests
{
    // Below the 120 s watches most tests open: a pod released in time was released by the watch event.
    private static readonly TimeSpan HardTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task CompleteJob_ReleasesThePodAtOnceWithoutWatching()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());

        await using var waiter = StartWaiter(api, timeoutSeconds: null);
        // Counted from the script's first line: Python's start is not the waiter's to answer for.
        await waiter.WaitForOutputAsync("waiting up to 600 s", EventTimeout);
        var clock = Stopwatch.StartNew();

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"waiting up to 600 s for Job {api.Namespace}/{api.JobName} via 127.0.0.1:{api.Port}");
        // Generous for a loaded CI machine, yet far below any sleep or poll interval worth having.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Took {clock.Elapsed}. Output:\n{waiter.Output}");
        OutputAssert.Contains(waiter, $"Job {api.Namespace}/{api.JobName}: complete (SuccessCriteriaMet");
        OutputAssert.Contains(waiter, "migrations done; releasing the pod");
        Assert.DoesNotContain(api.Requests, request => request.Query.ContainsKey("watch"));
    }

    [Fact]
    public async Task RunningJob_IsFollowedByAWatchAndReleasedByItsCompleteEvent()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, timeoutSeconds: 300, progressSeconds: null);

        var watchRequest = await watch.WaitAsync(EventTimeout);
        api.SetJob(api.CompleteJob());

        // Well inside the default 30 s watch: only the watch event itself can release the pod this soon.
        await OutputAssert.ExitsWith(0, waiter, TimeSpan.FromSeconds(15));
        var jobRead = api.Requests.First(request => request.Path.EndsWith($"/jobs/{api.JobName}", StringComparison.Ordinal));
        Assert.Equal($"/apis/batch/v1/namespaces/{api.Namespace}/jobs", watchRequest.Path);
        Assert.Equal($"metadata.name={api.JobName}", watchRequest.Query["fieldSelector"]);
        Assert.Equal("1001", watchRequest.Query["resourceVersion"]);
        Assert.Equal("30", watchRequest.Query["timeoutSeconds"]);
        Assert.Equal(jobRead.Authorization, watchRequest.Authorization);
        OutputAssert.InOrder(waiter, "not finished (active=1, ready=1, succeeded=0, failed=0)", "complete (SuccessCriteriaMet", "migrations done");
    }

    [Fact]
    public async Task ConditionsWhoseStatusIsFalse_AreNotMistakenForTheOutcome()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.Job(active: 1, conditions:
        [
            new JobCondition("Complete", "False", "NotYet", "not complete"),
            new JobCondition("Failed", "False", "NotYet", "not failed"),
        ]));
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);

        // Had either condition counted, the waiter would have exited instead of watching.
        await watch.WaitAsync(EventTimeout);
        Assert.False(waiter.HasExited, waiter.Output);
        api.SetJob(api.Job(succeeded: 1, conditions: [new JobCondition("Complete", "True", "CompletionsReached", "done")]));

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "complete (Complete;");
    }

    [Fact]
    public async Task SuccessCriteriaMetAlone_ReleasesThePod()
    {
        // Kubernetes 1.31+ sets SuccessCriteriaMet first and Complete once the pods are gone.
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        api.SetJob(api.Job(succeeded: 1, conditions: [new JobCondition("SuccessCriteriaMet", "True", "CompletionsReached", "done")]));

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
    }

    [Fact]
    public async Task FailedJob_PrintsTheReasonAndTheTailOfEveryContainersLogs()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.FailedJob());
        var longLog = string.Join('\n', Enumerable.Range(1, 50).Select(line => $"first attempt line {line}"));
        // Listed newest first: the logs must still read in the order the attempts ran.
        api.AddPod("piefed-db-init-5f2c9a1-bbbbb", 2, "batch.kubernetes.io/job-name",
            [new ContainerRun("copy-scripts", "copied again", Terminated(0, "Completed"))],
            [
                new ContainerRun("db-init", "second attempt: Killed", Terminated(137, "OOMKilled")),
                new ContainerRun("metrics", "metrics still running", new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2025-01-01T00:02:00Z" } }),
                new ContainerRun("sidecar", "sidecar never reported"),
            ]);
        api.AddPod("piefed-db-init-5f2c9a1-aaaaa", 1, "batch.kubernetes.io/job-name",
            [new ContainerRun("copy-scripts", "copied db_init.py", Terminated(0, "Completed"))],
            [new ContainerRun("db-init", longLog, Terminated(1, "Error"))]);

        await using var waiter = StartWaiter(api, logTailLines: 20);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "failed: BackoffLimitExceeded: Job has reached the specified backoff limit");
        OutputAssert.InOrder(waiter,
            "logs of pod piefed-db-init-5f2c9a1-aaaaa, container copy-scripts (terminated: exitCode 0, reason Completed)",
            "copied db_init.py",
            "logs of pod piefed-db-init-5f2c9a1-aaaaa, container db-init (terminated: exitCode 1, reason Error), last 20 lines",
            "first attempt line 50",
            "logs of pod piefed-db-init-5f2c9a1-bbbbb, container copy-scripts",
            "copied again",
            "container db-init (terminated: exitCode 137, reason OOMKilled)",
            "second attempt: Killed",
            "container metrics (running)",
            "metrics still running",
            "container sidecar (no status)",
            "sidecar never reported",
            "wait-for-migrations: FAILED: the migration Job piefed/piefed-db-init-5f2c9a1 failed");
        OutputAssert.Contains(waiter, "first attempt line 31\n");
        OutputAssert.DoesNotContain(waiter, "first attempt line 30\n");
        var logRequests = api.Requests.Where(request => request.Path.EndsWith("/log", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, logRequests.Count);
        Assert.All(logRequests, request => Assert.Equal("20", request.Query["tailLines"]));
        Assert.Equal("batch.kubernetes.io/job-name=piefed-db-init-5f2c9a1", api.Requests.First(request => request.Path.EndsWith("/pods", StringComparison.Ordinal)).Query["labelSelector"]);
    }

    [Fact]
    public async Task PodsLabelledOnlyWithTheLegacyJobNameLabel_StillHaveTheirLogsPrinted()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.FailedJob());
        api.AddPod("piefed-db-init-5f2c9a1-ccccc", 1, "job-name", [], [new ContainerRun("db-init", "legacy labelled pod failed", Terminated(1, "Error"))]);

        await using var waiter = StartWaiter(api, logTailLines: null);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "legacy labelled pod failed");
        Assert.Equal("100", api.Requests.Single(request => request.Path.EndsWith("/log", StringComparison.Ordinal)).Query["tailLines"]);
    }

    [Fact]
    public async Task JobWithoutPodsLeft_StillFailsWithItsReason()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.FailedJob());

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "no pod of Job piefed/piefed-db-init-5f2c9a1 is left to show logs from");
        OutputAssert.Contains(waiter, "failed: BackoffLimitExceeded");
    }

    [Fact]
    public async Task FailureTargetOnTheWatch_CountsAsFailed()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        api.AddPod("piefed-db-init-5f2c9a1-ddddd", 1, "batch.kubernetes.io/job-name", [], [new ContainerRun("db-init", "migration crashed", Terminated(1, "Error"))]);
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        api.SetJob(api.Job(active: 0, failed: 1, conditions: [new JobCondition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]));

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "FAILED (FailureTarget: BackoffLimitExceeded");
        OutputAssert.Contains(waiter, "migration crashed");
    }

    [Theory]
    [InlineData("list", "pods", "", "list pods in namespace piefed", "cannot list the Job's pods to show their logs")]
    [InlineData("get", "pods/log", "", "get pods/log in namespace piefed", "cannot read the logs of pod piefed-db-init-5f2c9a1-eeeee, container metrics")]
    public async Task FailedJobWhoseLogsMayNotBeRead_StillFailsNamingTheMissingPermission(
        string verb, string resource, string group, string expected, string lastComplaint)
    {
        await using var api = await StandInKubernetesApi.StartAsync(granted: DeclaredAccessExcept(new ApiAccess(verb, resource, group)));
        api.SetJob(api.FailedJob());
        api.AddPod("piefed-db-init-5f2c9a1-eeeee", 1, "batch.kubernetes.io/job-name", [],
            [new ContainerRun("db-init", "hidden log", Terminated(1, "Error")), new ContainerRun("metrics", "hidden too", Terminated(0, "Completed"))]);

        await using var waiter = StartWaiter(api);

        // Missing log permissions cost the logs, not the report: the waiter goes on to its usual verdict.
        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"may not {expected}");
        OutputAssert.DoesNotContain(waiter, "hidden");
        OutputAssert.InOrder(
            waiter,
            "failed: BackoffLimitExceeded",
            lastComplaint,
            "FAILED: the migration Job piefed/piefed-db-init-5f2c9a1 failed (see above)");
    }

    [Fact]
    public async Task MissingJob_IsWaitedForUntilCreatedThenCompleted()
    {
        // Under GitOps the pods may start before the Job exists.
        await using var api = await StandInKubernetesApi.StartAsync();
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);

        var watchRequest = await watch.WaitAsync(EventTimeout);
        Assert.False(watchRequest.Query.ContainsKey("resourceVersion"), "Without a Job there is no resourceVersion to watch from.");
        api.SetJob(api.RunningJob());
        await waiter.WaitForOutputAsync("not finished (active=1", EventTimeout);
        api.SetJob(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.InOrder(waiter, "not found yet", "not finished (active=1", "complete (");
    }

    [Fact]
    public async Task DeletedJob_IsWaitedForAgainUntilRecreated()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        api.DeleteJob();
        await waiter.WaitForOutputAsync("not found yet", EventTimeout);
        api.SetJob(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
    }

    [Theory]
    [InlineData("get")]
    [InlineData("watch")]
    public async Task ForbiddenJobAccess_FailsAtOnceNamingThePermissionAndTheRbacThatGrantsIt(string verb)
    {
        await using var api = await StandInKubernetesApi.StartAsync(granted: DeclaredAccessExcept(new ApiAccess(verb, "jobs", "batch")));
        api.SetJob(api.RunningJob());

        await using var waiter = StartWaiter(api, timeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"403 Forbidden: the pod's ServiceAccount may not {verb} jobs.batch in namespace piefed");
        OutputAssert.Contains(waiter, $"{{apiGroups: [\"batch\"], resources: [\"jobs\"], verbs: [\"{verb}\"]}}");
        OutputAssert.Contains(waiter, "RoleBinding");
        OutputAssert.Contains(waiter, "cannot " + verb + " resource \"jobs\"");
        var declared = MigrationScripts.WaitForMigrationsApiPermissions().Select(access => $"{access.Verb} {access.Resource}{(access.Group.Length > 0 ? "." + access.Group : "")}");
        OutputAssert.Contains(waiter, $"The gate needs, in all: {string.Join(", ", declared)}.");
    }

    [Fact]
    public async Task RejectedToken_FailsAtOnceSayingSo()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());
        File.WriteAllText(Path.Combine(api.ServiceAccountDirectory, "token"), "expired-token");

        await using var waiter = StartWaiter(api, timeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "401 Unauthorized: the API server at 127.0.0.1:");
        OutputAssert.Contains(waiter, "rejected the ServiceAccount token");
    }

    [Fact]
    public async Task RotatedToken_IsReadAgainForTheNextRequest()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var firstWatch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await firstWatch.WaitAsync(EventTimeout);

        api.RotateToken("rotated-token");
        var secondWatch = api.NextWatchAsync();
        api.EndWatches();
        Assert.Equal("Bearer rotated-token", (await secondWatch.WaitAsync(EventTimeout)).Authorization);
        api.SetJob(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
    }

    [Fact]
    public async Task UnexpectedClientError_FailsAtOnce()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.Fail($"/jobs/{api.JobName}", 1, 422, """{"kind":"Status","message":"the server rejected our request","code":422}""");

        await using var waiter = StartWaiter(api, timeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "the API server answered 422 Unprocessable Entity to GET /apis/batch/v1/namespaces/piefed/jobs/piefed-db-init-5f2c9a1: the server rejected our request");
    }

    [Theory]
    [InlineData(500, "text/plain", "etcdserver: request timed out", "500 Internal Server Error")]
    [InlineData(503, "application/json", """{"kind":"Status","message":"the server is currently unable to handle the request","code":503}""", "503 Service Unavailable")]
    [InlineData(429, "application/json", """{"kind":"Status","message":"Too many requests, please try again later.","code":429}""", "429 Too Many Requests")]
    [InlineData(200, "application/json", """{"kind":"Job","metadata":""", "unreadable answer")]
    public async Task TransientApiErrors_AreRetriedUntilTheApiRecovers(int statusCode, string contentType, string body, string expected)
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());
        api.Fail($"/jobs/{api.JobName}", 2, statusCode, body, contentType);

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.Equal(2, ScriptProcess.CountOccurrences(waiter.Output, expected));
        OutputAssert.Contains(waiter, "retrying in 0.5 s");
        OutputAssert.Contains(waiter, "retrying in 1.0 s");
    }

    [Fact]
    public async Task RetryDelay_DoublesUpToFiveSecondsAndStartsOverAfterASuccessfulRead()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        api.Fail($"/jobs/{api.JobName}", int.MaxValue, 503, """{"kind":"Status","message":"etcd leader changed","code":503}""");
        await using var waiter = StartWaiter(api, timeoutSeconds: 60, progressSeconds: 120);

        await waiter.WaitForOutputAsync("retrying in 5.0 s", EventTimeout);
        OutputAssert.InOrder(waiter, "retrying in 0.5 s", "retrying in 1.0 s", "retrying in 2.0 s", "retrying in 4.0 s", "retrying in 5.0 s");
        var watch = api.NextWatchAsync();
        api.ClearFaults();
        await watch.WaitAsync(EventTimeout);
        api.Fail($"/jobs/{api.JobName}", 1, 503, """{"kind":"Status","message":"etcd leader changed again","code":503}""");
        var nextWatch = api.NextWatchAsync();
        api.EndWatches();
        await nextWatch.WaitAsync(EventTimeout);
        api.SetJob(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "etcd leader changed again; retrying in 0.5 s");
    }

    [Fact]
    public async Task WatchAnsweredWithGone_IsRetriedWithAFreshRead()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        api.Fail("/jobs", 1, 410, """{"kind":"Status","reason":"Expired","message":"too old resource version: 1001 (1500)","code":410}""");
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);

        await watch.WaitAsync(EventTimeout);
        api.SetJob(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "the API server answered 410 Gone to GET /apis/batch/v1/namespaces/piefed/jobs: too old resource version: 1001 (1500); retrying in 0.5 s");
    }

    [Fact]
    public async Task ApiServerRefusingConnections_IsWaitedForUntilItComesUp()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());
        // The forwarder refuses connections like an API server that is down, then forwards to the stand-in.
        await using var apiServer = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, api.Port));
        await using var waiter = StartWaiter(api, environment: new() { ["KUBERNETES_SERVICE_PORT"] = $"{apiServer.Port}" });

        await waiter.WaitForOutputCountAsync("Connection refused", 2, EventTimeout);
        apiServer.BringUp();

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"cannot reach the Kubernetes API at 127.0.0.1:{apiServer.Port}: [Errno 111] Connection refused; retrying");
    }

    [Fact]
    public async Task JobThatNeverFinishes_IsGivenUpAtTheDeadlineWithItsLastStatus()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.Job(active: 0, failed: 1, conditions: [new JobCondition("Suspended", "True", "JobSuspended", "Job suspended")]));
        var clock = Stopwatch.StartNew();

        await using var waiter = StartWaiter(api, timeoutSeconds: 2);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"Gave up after {clock.Elapsed}, before the 2 s deadline. Output:\n{waiter.Output}");
        OutputAssert.Contains(
            waiter,
            "FAILED: gave up after 2 s (WAIT_TIMEOUT_SECONDS); Job piefed/piefed-db-init-5f2c9a1 last known status: not finished (active=0, ready=0, succeeded=0, failed=1; conditions: Suspended)");
    }

    [Fact]
    public async Task ApiThatNeverRecovers_IsGivenUpOnAtTheDeadlineNotAfterTheNextRetry()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.Fail($"/jobs/{api.JobName}", int.MaxValue, 503, """{"kind":"Status","message":"etcd cluster is unavailable","code":503}""");
        // Retries after 0.5 s and 1 s; the next, 2 s, would end past the 1.6 s deadline and is cut short.
        await using var waiter = StartWaiter(api, timeoutSeconds: 1.6);
        // Counted from the script's first line, which it writes as it sets its deadline.
        await waiter.WaitForOutputAsync("waiting up to 1.6 s", EventTimeout);
        var clock = Stopwatch.StartNew();

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"Gave up after {clock.Elapsed}, long past the 1.6 s deadline. Output:\n{waiter.Output}");
        OutputAssert.Contains(waiter, "FAILED: gave up after 1.6 s (WAIT_TIMEOUT_SECONDS); Job piefed/piefed-db-init-5f2c9a1 last known status: never read (the API server did not answer)");
    }

    [Fact]
    public async Task LongWait_PrintsProgressAtTheConfiguredInterval()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());

        await using var waiter = StartWaiter(api, progressSeconds: 1);

        await waiter.WaitForOutputCountAsync("still waiting for Job piefed/piefed-db-init-5f2c9a1: not finished (active=1", 2, EventTimeout);
        api.SetJob(api.CompleteJob());
        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        Assert.All(
            api.Requests.Where(request => request.Query.ContainsKey("watch")),
            request => Assert.Equal("1", request.Query["timeoutSeconds"]));
        // Each fresh read finds the same state: it is announced once, then only as progress.
        Assert.Equal(1, ScriptProcess.CountOccurrences(waiter.Output, "wait-for-migrations: Job piefed/piefed-db-init-5f2c9a1: not finished"));
    }

    [Fact]
    public async Task WatchThatEnds_IsFollowedByAFreshReadOfTheJob()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        api.SetJobUnannounced(api.CompleteJob());
        api.EndWatches();

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
    }

    [Fact]
    public async Task WatchErrorEvent_IsFollowedByAFreshReadOfTheJob()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        // The stream stays open after the ERROR: only reacting to the event itself releases the pod in time.
        api.SetJobUnannounced(api.CompleteJob());
        api.SendWatchError(410, "Expired", "too old resource version: 1001 (1002)");

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "the watch ended with an error (410 Expired: too old resource version: 1001 (1002)); reading the Job again");
    }

    [Fact]
    public async Task GarbledWatchStream_IsRetriedWithAFreshRead()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        api.SetJobUnannounced(api.CompleteJob());
        api.SendWatchLine("{\"type\":\"MODIFIED\",\"object\":{\"kind\"");

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "the watch of Job piefed/piefed-db-init-5f2c9a1 broke:");
    }

    [Fact]
    public async Task SilentWatchPastItsTimeout_IsAbandonedAsDead()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.StallWatches = true;
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        // A 1 s watch that stays silent: after the 5 s grace the connection is given up and the Job read again.
        await using var waiter = StartWaiter(api, progressSeconds: 1);
        await watch.WaitAsync(EventTimeout);

        api.SetJobUnannounced(api.CompleteJob());

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "the watch of Job piefed/piefed-db-init-5f2c9a1 broke: The read operation timed out");
    }

    [Fact]
    public async Task JobNamespace_OverridesThePodsOwnNamespace()
    {
        await using var api = await StandInKubernetesApi.StartAsync(@namespace: "piefed-migrations", podNamespace: "piefed-web");
        api.SetJob(api.CompleteJob());

        await using var waiter = StartWaiter(api, timeoutSeconds: 2, environment: new() { ["JOB_NAMESPACE"] = "piefed-migrations" });

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "Job piefed-migrations/piefed-db-init-5f2c9a1: complete");
    }

    [Fact]
    public async Task MissingToken_FailsSayingTheTokenMustBeMounted()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());
        File.Delete(Path.Combine(api.ServiceAccountDirectory, "token"));

        await using var waiter = StartWaiter(api, timeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "cannot read the ServiceAccount credentials");
        OutputAssert.Contains(waiter, "automountServiceAccountToken");
    }

    [Fact]
    public async Task ServerCertificateNotIssuedByTheClusterCa_FailsAtOnce()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.CompleteJob());
        api.DistrustServerCertificate();

        await using var waiter = StartWaiter(api, timeoutSeconds: 600);

        await OutputAssert.ExitsWith(1, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "failed TLS verification against");
        OutputAssert.Contains(waiter, "unable to get local issuer certificate");
    }

    [Fact]
    public async Task Ipv6ApiServerAddress_IsReached()
    {
        await using var api = await StandInKubernetesApi.StartAsync(IPAddress.IPv6Loopback);
        api.SetJob(api.CompleteJob());

        await using var waiter = StartWaiter(api);

        await OutputAssert.ExitsWith(0, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"via [::1]:{api.Port}");
    }

    [Fact]
    public async Task Sigterm_StopsTheWaiterCleanly()
    {
        await using var api = await StandInKubernetesApi.StartAsync();
        api.SetJob(api.RunningJob());
        var watch = api.NextWatchAsync();
        await using var waiter = StartWaiter(api, progressSeconds: 120);
        await watch.WaitAsync(EventTimeout);

        waiter.Terminate();

        await OutputAssert.ExitsWith(143, waiter, HardTimeout);
        OutputAssert.Contains(waiter, "wait-for-migrations: stopped by SIGTERM");
    }

    [Theory]
    [InlineData("JOB_NAME", "", "JOB_NAME is not set")]
    [InlineData("KUBERNETES_SERVICE_HOST", "", "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")]
    [InlineData("WAIT_TIMEOUT_SECONDS", "ten", "WAIT_TIMEOUT_SECONDS='ten' is not a number")]
    [InlineData("WAIT_PROGRESS_INTERVAL_SECONDS", "-1", "WAIT_PROGRESS_INTERVAL_SECONDS must be positive")]
    [InlineData("WAIT_TIMEOUT_SECONDS", "inf", "WAIT_TIMEOUT_SECONDS must be positive")]
    [InlineData("WAIT_LOG_TAIL_LINES", "1.5", "WAIT_LOG_TAIL_LINES='1.5' is not a number")]
    [InlineData("SERVICEACCOUNT_DIR", "/nonexistent/serviceaccount", "JOB_NAMESPACE is not set and /nonexistent/serviceaccount/namespace cannot be read")]
    public async Task Misconfiguration_ExitsTwoNamingTheSetting(string name, string value, string message)
    {
        await using var api = await StandInKubernetesApi.StartAsync();

        await using var waiter = StartWaiter(api, environment: new() { [name] = value });

        await OutputAssert.ExitsWith(2, waiter, HardTimeout);
        OutputAssert.Contains(waiter, $"wait-for-migrations: configuration error: {message}");
    }

    private static JsonObject Terminated(int exitCode, string reason) =>
        new() { ["terminated"] = new JsonObject { ["exitCode"] = exitCode, ["reason"] = reason } };

    private static IEnumerable<ApiAccess> DeclaredAccessExcept(ApiAccess withheld)
    {
        var declared = MigrationScripts.WaitForMigrationsApiPermissions();
        Assert.Contains(withheld, declared);
        return declared.Where(access => access != withheld);
    }



    /// <summary>Starts the waiter; settings left null are not set, so that the script's defaults apply.</summary>
    private static ScriptProcess StartWaiter(
        StandInKubernetesApi api,
        double? timeoutSeconds = 120,
        double? progressSeconds = null,
        int? logTailLines = null,
        Dictionary<string, string>? environment = null)
    {
        var settings = api.WaiterEnvironment();
        if (timeoutSeconds is { } timeout)
        {
            settings["WAIT_TIMEOUT_SECONDS"] = timeout.ToString(CultureInfo.InvariantCulture);
        }

        if (progressSeconds is { } progress)
        {
            settings["WAIT_PROGRESS_INTERVAL_SECONDS"] = progress.ToString(CultureInfo.InvariantCulture);
        }

        if (logTailLines is { } tail)
        {
            settings["WAIT_LOG_TAIL_LINES"] = tail.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in environment ?? [])
        {
            settings[name] = value;
        }

        return ScriptProcess.Start(MigrationScripts.WaitForMigrations, MigrationScripts.WaitForMigrationsFileName, settings);
    }
}
