using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// A stand-in for the Kubernetes API server, the closest honest one available: no API server can run
/// in CI, so this serves over HTTPS on loopback the few endpoints wait_for_migrations.py uses, with the
/// API server's wire formats (Job, Pod and ReplicaSet JSON, lists, Status errors, newline-delimited watch
/// events with resourceVersion replay and timeoutSeconds), checks the bearer token on every request and
/// authorizes each one as the API server's RBAC does, against the permissions it was started with.
/// Where the gate relies on the API server's behaviour it is at least as strict: it refuses requests it
/// does not understand rather than guessing at them, and deletes a Job's pods only when told to.
/// Its certificate is issued by a CA generated per instance, whose PEM is the ca.crt of a
/// ServiceAccount directory laid out like /var/run/secrets/kubernetes.io/serviceaccount.
/// </summary>
public sealed partial class StandInKubernetesApi : IAsyncDisposable
{
    public const string DefaultJobName = "piefed-db-init-5f2c9a1";
    public const string DefaultNamespace = "piefed";

    /// <summary>The labels the Job controller puts on a Job's pods, which name the Job.</summary>
    private static readonly string[] JobNameLabels = ["batch.kubernetes.io/job-name", "job-name"];

    private readonly Lock _lock = new();
    private readonly List<(long ResourceVersion, string JobName, string Line)> _history = [];
    private readonly List<Channel<string>> _watchers = [];
    private readonly Dictionary<string, JsonObject> _jobs = new(StringComparer.Ordinal);
    private readonly List<JsonObject> _pods = [];
    private readonly List<JsonObject> _replicaSets = [];
    private readonly List<Fault> _faults = [];
    private readonly List<TaskCompletionSource<RecordedRequest>> _watchWaiters = [];
    private readonly WebApplication _app;
    private readonly X509Certificate2 _serverCertificate;
    private readonly HashSet<ApiAccess> _granted;
    private readonly string _user;
    private long _resourceVersion = 1000;
    private string _acceptedToken;
    private Action? _whenJobsListed;

    private StandInKubernetesApi(
        WebApplication app, X509Certificate2 serverCertificate, string serviceAccountDirectory, string @namespace, string podNamespace, string token, IEnumerable<ApiAccess> granted)
    {
        _app = app;
        _serverCertificate = serverCertificate;
        ServiceAccountDirectory = serviceAccountDirectory;
        Namespace = @namespace;
        _acceptedToken = token;
        _granted = [.. granted];
        _user = $"system:serviceaccount:{podNamespace}:piefed-migration-waiter";
    }

    public string Namespace { get; }

    public string JobName { get; } = DefaultJobName;

    public string Host { get; private set; } = "";

    public int Port { get; private set; }

    public string ServiceAccountDirectory { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>When set, watches stay open and silent past their timeoutSeconds, like a dead connection.</summary>
    public bool StallWatches { get; set; }

    /// <summary>
    /// Starts the stand-in on a free port of <paramref name="address"/> (IPv4 loopback by default), serving
    /// Jobs and Pods of <paramref name="namespace"/>; the ServiceAccount's namespace file says
    /// <paramref name="podNamespace"/> (the namespace the waiting pod runs in). The ServiceAccount holds
    /// <paramref name="granted"/> in <paramref name="namespace"/>, as a Role there would grant it, and nothing
    /// else; by default what wait_for_migrations.py declares it needs.
    /// </summary>
    public static async Task<StandInKubernetesApi> StartAsync(
        IPAddress? address = null, string @namespace = DefaultNamespace, string podNamespace = DefaultNamespace, IEnumerable<ApiAccess>? granted = null)
    {
        address ??= IPAddress.Loopback;
        granted ??= MigrationScripts.WaitForMigrationsApiPermissions();
        var serviceAccountDirectory = Directory.CreateTempSubdirectory("piefed-serviceaccount-").FullName;
        var token = "stand-in-token-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        using var certificateAuthority = CreateCertificateAuthority("stand-in cluster CA");
        var serverCertificate = CreateServerCertificate(certificateAuthority);
        File.WriteAllText(Path.Combine(serviceAccountDirectory, "ca.crt"), certificateAuthority.Certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(serviceAccountDirectory, "token"), token);
        File.WriteAllText(Path.Combine(serviceAccountDirectory, "namespace"), podNamespace);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, 0, listen => listen.UseHttps(serverCertificate)));
        var app = builder.Build();
        var api = new StandInKubernetesApi(app, serverCertificate, serviceAccountDirectory, @namespace, podNamespace, token, granted);
        app.Use(api.GuardAsync);
        app.MapGet("/apis/batch/v1/namespaces/{namespace}/jobs/{name}", api.GetJobAsync);
        app.MapDelete("/apis/batch/v1/namespaces/{namespace}/jobs/{name}", api.DeleteJobAsync);
        app.MapGet("/apis/batch/v1/namespaces/{namespace}/jobs", api.JobsAsync);
        app.MapGet("/api/v1/namespaces/{namespace}/pods", api.ListPodsAsync);
        app.MapGet("/apis/apps/v1/namespaces/{namespace}/replicasets", api.ListReplicaSetsAsync);
        app.MapGet("/api/v1/namespaces/{namespace}/pods/{pod}/log", api.GetPodLogAsync);
        await app.StartAsync();

        var listening = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        api.Host = address.ToString();
        api.Port = listening.Port;
        return api;
    }

    /// <summary>The environment Kubernetes and the Pulumi program give the init container.</summary>
    public Dictionary<string, string> WaiterEnvironment() => new()
    {
        ["KUBERNETES_SERVICE_HOST"] = Host,
        ["KUBERNETES_SERVICE_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SERVICEACCOUNT_DIR"] = ServiceAccountDirectory,
        ["JOB_NAME"] = JobName,
    };

    /// <summary>Builds the JSON of the Job the waiter waits for, with the given status counts and conditions.</summary>
    public JsonObject Job(int active = 0, int succeeded = 0, int failed = 0, params JobCondition[] conditions)
    {
        var status = new JsonObject { ["active"] = active, ["ready"] = active, ["succeeded"] = succeeded, ["failed"] = failed };
        if (conditions.Length > 0)
        {
            status["conditions"] = new JsonArray([.. conditions.Select(condition => (JsonNode)condition.ToJson())]);
        }

        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new JsonObject { ["name"] = JobName, ["namespace"] = Namespace },
            ["status"] = status,
        };
    }

    public JsonObject RunningJob() => Job(active: 1);

    public JsonObject CompleteJob() => Job(succeeded: 1, conditions:
    [
        new JobCondition("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
        new JobCondition("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
    ]);

    /// <summary>A failed Job as clusters before Kubernetes 1.31 report it: Failed without FailureTarget.</summary>
    public JsonObject FailedJob() => Job(failed: 2, conditions:
        [new JobCondition("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]);

    /// <summary>
    /// <paramref name="job"/> as another Job: named <paramref name="name"/>, with <paramref name="labels"/>, and
    /// created <paramref name="createdMinute"/> minutes after the epoch, as if it had been there since.
    /// </summary>
    public static JsonObject Named(JsonObject job, string name, int createdMinute, IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(job);
        var named = (JsonObject)job.DeepClone();
        var metadata = named["metadata"]!.AsObject();
        metadata["name"] = name;
        metadata["creationTimestamp"] = Timestamp(createdMinute);
        metadata["labels"] = new JsonObject([.. labels.Select(label => KeyValuePair.Create(label.Key, (JsonNode?)label.Value))]);
        return named;
    }

    /// <summary>Creates or changes the Job of that name and tells every open watch of it, like the API server.</summary>
    public void SetJob(JsonObject job) => Change(job, notifyWatches: true);

    /// <summary>Changes the Job without telling open watches: only a fresh read can see it.</summary>
    public void SetJobUnannounced(JsonObject job) => Change(job, notifyWatches: false);

    /// <summary>Deletes the Job (by default the one the waiter waits for) as an orphaning delete would: its pods stay.</summary>
    public void DeleteJob(string? name = null)
    {
        lock (_lock)
        {
            if (!RemoveJob(name ?? JobName))
            {
                throw new InvalidOperationException($"There is no Job {name ?? JobName} to delete.");
            }
        }
    }

    /// <summary>The Job of that name as the API server holds it, or null.</summary>
    public JsonObject? FindJob(string name)
    {
        lock (_lock)
        {
            return (JsonObject?)_jobs.GetValueOrDefault(name)?.DeepClone();
        }
    }

    public IReadOnlyList<string> JobNames()
    {
        lock (_lock)
        {
            return [.. _jobs.Keys.Order(StringComparer.Ordinal)];
        }
    }

    public IReadOnlyList<string> PodNames()
    {
        lock (_lock)
        {
            return [.. _pods.Select(pod => pod["metadata"]!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Runs <paramref name="change"/> once, the next time Jobs are listed, after the list is taken and before it is
    /// answered: what the cluster does between a client's list and its next request.
    /// </summary>
    public void WhenJobsListed(Action change)
    {
        lock (_lock)
        {
            _whenJobsListed = change;
        }
    }

    /// <summary>Sends a watch ERROR event, e.g. 410 Expired, and keeps the stream open as a slow server might.</summary>
    public void SendWatchError(int code, string reason, string message) =>
        SendWatchLine(new JsonObject
        {
            ["type"] = "ERROR",
            ["object"] = Status(code, reason, message),
        }.ToJsonString());

    public void SendWatchLine(string line)
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(line);
            }
        }
    }

    /// <summary>Ends every open watch normally, as the API server does when timeoutSeconds runs out.</summary>
    public void EndWatches()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }

            _watchers.Clear();
        }
    }

    /// <summary>Completes when the next watch request has been accepted and its stream is open.</summary>
    public Task<RecordedRequest> NextWatchAsync()
    {
        var waiter = new TaskCompletionSource<RecordedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _watchWaiters.Add(waiter);
        }

        return waiter.Task;
    }

    /// <summary>
    /// Adds a Pod of the Job (by default the one the waiter waits for), created <paramref name="createdMinute"/>
    /// minutes into the Job's life; <paramref name="jobNameLabel"/> is the label the Job controller set.
    /// </summary>
    public void AddPod(
        string name, int createdMinute, string jobNameLabel, IReadOnlyList<ContainerRun> initContainers, IReadOnlyList<ContainerRun> containers, string? jobName = null)
    {
        static JsonArray Specs(IEnumerable<ContainerRun> runs) =>
            new([.. runs.Select(run => (JsonNode)new JsonObject { ["name"] = run.Name, ["image"] = "codeberg.org/rimu/pyfedi:v1.7.7" })]);
        static JsonArray Statuses(IEnumerable<ContainerRun> runs) =>
            new([.. runs.Where(run => run.State is not null).Select(run => (JsonNode)new JsonObject { ["name"] = run.Name, ["state"] = run.State!.DeepClone() })]);

        lock (_lock)
        {
            _pods.Add(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = Namespace,
                    ["labels"] = new JsonObject { [jobNameLabel] = jobName ?? JobName },
                    ["creationTimestamp"] = Timestamp(createdMinute),
                },
                ["spec"] = new JsonObject { ["initContainers"] = Specs(initContainers), ["containers"] = Specs(containers) },
                ["status"] = new JsonObject { ["initContainerStatuses"] = Statuses(initContainers), ["containerStatuses"] = Statuses(containers) },
                ["logs"] = new JsonObject([.. initContainers.Concat(containers).Select(run => KeyValuePair.Create(run.Name, (JsonNode?)run.Log))]),
            });
        }
    }

    /// <summary>Adds a pod of a workload, not of a Job, whose init container waits for <paramref name="waitsForJob"/> as the program's pods do.</summary>
    public void AddGatedPod(string name, string waitsForJob)
    {
        lock (_lock)
        {
            _pods.Add(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace, ["labels"] = WorkloadLabels() },
                ["spec"] = GatedPodSpec(waitsForJob),
                ["status"] = new JsonObject { ["phase"] = "Running" },
            });
        }
    }

    /// <summary>Adds a ReplicaSet of <paramref name="replicas"/> whose pods' init container waits for <paramref name="waitsForJob"/>.</summary>
    public void AddGatedReplicaSet(string name, int replicas, string waitsForJob)
    {
        lock (_lock)
        {
            _replicaSets.Add(new JsonObject
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "ReplicaSet",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace, ["labels"] = WorkloadLabels() },
                ["spec"] = new JsonObject
                {
                    ["replicas"] = replicas,
                    ["selector"] = new JsonObject { ["matchLabels"] = WorkloadLabels() },
                    ["template"] = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["labels"] = WorkloadLabels() },
                        ["spec"] = GatedPodSpec(waitsForJob),
                    },
                },
                ["status"] = new JsonObject { ["replicas"] = replicas },
            });
        }
    }

    /// <summary>Answers the next <paramref name="count"/> requests whose path ends with <paramref name="pathSuffix"/> with an error.</summary>
    public void Fail(string pathSuffix, int count, int statusCode, string body, string contentType = "application/json") =>
        AddFault(new Fault(pathSuffix, count, statusCode, body, contentType));

    public void ClearFaults()
    {
        lock (_lock)
        {
            _faults.Clear();
        }
    }

    /// <summary>Writes a new token file and accepts only the new token, as after a kubelet rotation.</summary>
    public void RotateToken(string token)
    {
        lock (_lock)
        {
            _acceptedToken = token;
        }

        File.WriteAllText(Path.Combine(ServiceAccountDirectory, "token"), token);
    }

    /// <summary>Replaces ca.crt with a CA that did not issue the server's certificate.</summary>
    public void DistrustServerCertificate()
    {
        using var unrelated = CreateCertificateAuthority("unrelated CA");
        File.WriteAllText(Path.Combine(ServiceAccountDirectory, "ca.crt"), unrelated.Certificate.ExportCertificatePem());
    }

    public async ValueTask DisposeAsync()
    {
        EndWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _serverCertificate.Dispose();
        Directory.Delete(ServiceAccountDirectory, recursive: true);
    }

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static JsonObject Stamp(JsonObject job, long resourceVersion)
    {
        var stamped = (JsonObject)job.DeepClone();
        stamped["metadata"]!["resourceVersion"] = resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return stamped;
    }

    private static string Event(string type, JsonObject job) => new JsonObject { ["type"] = type, ["object"] = job.DeepClone() }.ToJsonString();

    private static async Task WriteJsonAsync(HttpContext context, int statusCode, JsonNode body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static string Timestamp(int minute) =>
        DateTimeOffset.UnixEpoch.AddMinutes(minute).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static JsonObject WorkloadLabels() => new() { ["app.kubernetes.io/name"] = "piefed", ["app.kubernetes.io/component"] = "web" };

    private static JsonObject GatedPodSpec(string waitsForJob) => new()
    {
        ["initContainers"] = new JsonArray(new JsonObject
        {
            ["name"] = "wait-for-migrations",
            ["env"] = new JsonArray(
                new JsonObject { ["name"] = "JOB_NAME", ["value"] = waitsForJob },
                new JsonObject { ["name"] = "JOB_NAMESPACE", ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.namespace" } } }),
        }),
        ["containers"] = new JsonArray(new JsonObject { ["name"] = "web" }),
    };

    private void Change(JsonObject job, bool notifyWatches)
    {
        lock (_lock)
        {
            var name = job["metadata"]!["name"]!.GetValue<string>();
            var existing = _jobs.GetValueOrDefault(name);
            var stored = Stamp(job, ++_resourceVersion);
            var metadata = stored["metadata"]!.AsObject();
            // The API server gives an object its uid and creation time when it creates it, and keeps both for its life.
            metadata["uid"] = existing is null ? Guid.NewGuid().ToString() : existing["metadata"]!["uid"]!.DeepClone();
            metadata["creationTimestamp"] = existing?["metadata"]!["creationTimestamp"]!.DeepClone()
                ?? metadata["creationTimestamp"]?.DeepClone()
                ?? DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            _jobs[name] = stored;
            Publish(existing is null ? "ADDED" : "MODIFIED", name, stored, notifyWatches);
        }
    }

    /// <summary>Removes the Job, under the lock, announcing it to its watches; false when there is none.</summary>
    private bool RemoveJob(string name)
    {
        if (!_jobs.Remove(name, out var deleted))
        {
            return false;
        }

        Publish("DELETED", name, Stamp(deleted, ++_resourceVersion), notifyWatches: true);
        return true;
    }

    /// <summary>Records the event; only the Job the waiter waits for is ever watched (<see cref="WatchJobsAsync"/>).</summary>
    private void Publish(string type, string jobName, JsonObject job, bool notifyWatches)
    {
        var line = Event(type, job);
        _history.Add((_resourceVersion, jobName, line));
        if (notifyWatches && jobName == JobName)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(line);
            }
        }
    }

    private void AddFault(Fault fault)
    {
        lock (_lock)
        {
            _faults.Add(fault);
        }
    }

    private async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        string body;
        using (var reader = new StreamReader(context.Request.Body))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var request = new RecordedRequest(
            context.Request.Method, context.Request.Path.Value ?? "", context.Request.Query.ToDictionary(pair => pair.Key, pair => pair.Value.ToString()), authorization, body);
        Requests.Enqueue(request);
        context.Items[typeof(RecordedRequest)] = request;

        Fault? fault;
        lock (_lock)
        {
            if (authorization != $"Bearer {_acceptedToken}")
            {
                fault = new Fault("", 1, 401, Status(401, "Unauthorized", "Unauthorized").ToJsonString(), "application/json");
            }
            else if (Denial(context.Request) is { } denial)
            {
                fault = new Fault("", 1, 403, Status(403, "Forbidden", denial).ToJsonString(), "application/json");
            }
            else
            {
                fault = _faults.FirstOrDefault(candidate => candidate.Remaining > 0 && request.Path.EndsWith(candidate.PathSuffix, StringComparison.Ordinal));
                if (fault is not null)
                {
                    fault.Remaining--;
                }
            }
        }

        if (fault is null)
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = fault.StatusCode;
        context.Response.ContentType = fault.ContentType;
        await context.Response.WriteAsync(fault.Body);
    }

    /// <summary>
    /// Why RBAC refuses <paramref name="request"/>, or null when a granted permission allows it. The request is
    /// judged as the API server judges it (k8s.io/apiserver RequestInfoFactory): a GET is "get" for one
    /// object, "list" for a collection and "watch" for a collection with watch set (a metadata.name
    /// fieldSelector does not change that), a DELETE "delete" for one object and "deletecollection" for a
    /// collection; the resource is "resource/subresource" for a subresource.
    /// The message is the API server's.
    /// </summary>
    private string? Denial(HttpRequest request)
    {
        var parts = (request.Path.Value ?? "").Trim('/').Split('/');
        var (group, scoped) = parts switch
        {
            ["api", _, "namespaces", ..] => ("", parts[3..]),
            ["apis", var apiGroup, _, "namespaces", ..] => (apiGroup, parts[4..]),
            _ => ((string?)null, Array.Empty<string>()),
        };
        if (group is null || scoped.Length is < 2 or > 4)
        {
            return $"forbidden: User \"{_user}\" cannot get path \"{request.Path}\"";
        }

        var (@namespace, resource, name) = (scoped[0], scoped[1], scoped.Length > 2 ? scoped[2] : "");
        var watch = request.Query.TryGetValue("watch", out var flag) && !string.Equals(flag, "false", StringComparison.OrdinalIgnoreCase) && flag != "0";
        var verb = request.Method switch
        {
            "GET" => name.Length > 0 ? "get" : watch ? "watch" : "list",
            "DELETE" => name.Length > 0 ? "delete" : "deletecollection",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            _ => request.Method.ToLowerInvariant(),
        };
        var access = new ApiAccess(verb, scoped.Length == 4 ? $"{resource}/{scoped[3]}" : resource, group);
        if (@namespace == Namespace && _granted.Contains(access))
        {
            return null;
        }

        var qualified = group.Length == 0 ? resource : $"{resource}.{group}";
        var target = name.Length == 0 ? qualified : $"{qualified} \"{name}\"";
        return $"{target} is forbidden: User \"{_user}\" cannot {verb} resource \"{access.Resource}\" in API group \"{group}\" in the namespace \"{@namespace}\"";
    }

    private async Task GetJobAsync(HttpContext context, string @namespace, string name)
    {
        JsonObject? job;
        lock (_lock)
        {
            job = @namespace == Namespace ? _jobs.GetValueOrDefault(name) : null;
        }

        if (job is null)
        {
            await WriteJsonAsync(context, 404, Status(404, "NotFound", $"jobs.batch \"{name}\" not found"));
            return;
        }

        await WriteJsonAsync(context, 200, job);
    }

    private Task JobsAsync(HttpContext context, string @namespace)
        => context.Request.Query.ContainsKey("watch") ? WatchJobsAsync(context, @namespace) : ListJobsAsync(context, @namespace);

    private async Task ListJobsAsync(HttpContext context, string @namespace)
    {
        Action? whenListed = null;
        await ListAsync(context, @namespace, "JobList", "batch/v1", () =>
        {
            whenListed = _whenJobsListed;
            _whenJobsListed = null;
            return _jobs.Values;
        }, () => whenListed?.Invoke());
    }

    private async Task WatchJobsAsync(HttpContext context, string @namespace)
    {
        var query = context.Request.Query;
        // The gate must watch exactly its Job; anything else would be a bug worth failing loudly on.
        if (query["watch"] != "true" || query["fieldSelector"] != $"metadata.name={JobName}" || !int.TryParse(query["timeoutSeconds"], out var timeoutSeconds))
        {
            await WriteJsonAsync(context, 400, Status(400, "BadRequest", "this stand-in serves only watch=true&fieldSelector=metadata.name=<job>&timeoutSeconds=<n>"));
            return;
        }

        var events = Channel.CreateUnbounded<string>();
        TaskCompletionSource<RecordedRequest>[] waiters;
        lock (_lock)
        {
            if (@namespace == Namespace)
            {
                if (long.TryParse(query["resourceVersion"], out var since))
                {
                    foreach (var (_, _, line) in _history.Where(entry => entry.ResourceVersion > since && entry.JobName == JobName))
                    {
                        events.Writer.TryWrite(line);
                    }
                }
                else if (_jobs.GetValueOrDefault(JobName) is { } job)
                {
                    events.Writer.TryWrite(Event("ADDED", job));
                }

                _watchers.Add(events);
            }

            waiters = [.. _watchWaiters];
            _watchWaiters.Clear();
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();
        await context.Response.Body.FlushAsync();
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult((RecordedRequest)context.Items[typeof(RecordedRequest)]!);
        }

        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (!StallWatches)
        {
            expiry.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        }

        try
        {
            await foreach (var line in events.Reader.ReadAllAsync(expiry.Token))
            {
                await context.Response.WriteAsync(line + "\n", expiry.Token);
                await context.Response.Body.FlushAsync(expiry.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds ran out or the client went away: the stream simply ends.
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(events);
            }
        }
    }

    private Task ListPodsAsync(HttpContext context, string @namespace)
        => ListAsync(context, @namespace, "PodList", "v1", () => _pods);

    private Task ListReplicaSetsAsync(HttpContext context, string @namespace)
        => ListAsync(context, @namespace, "ReplicaSetList", "apps/v1", () => _replicaSets);

    /// <summary>
    /// Answers a list of the objects <paramref name="stored"/> gives, under the lock, that match the request's labelSelector;
    /// then runs <paramref name="afterListing"/>, before the answer is written.
    /// </summary>
    private async Task ListAsync(
        HttpContext context, string @namespace, string listKind, string apiVersion, Func<IEnumerable<JsonObject>> stored, Action? afterListing = null)
    {
        // The gate narrows its lists by label alone; a parameter this stand-in would ignore must not seem honoured.
        var unserved = context.Request.Query.Keys.Where(key => key != "labelSelector").ToList();
        var terms = LabelSelectorTerms(context.Request.Query["labelSelector"].ToString());
        if (unserved.Count > 0 || terms is null)
        {
            await WriteJsonAsync(context, 400, Status(400, "BadRequest",
                "this stand-in lists with at most a labelSelector of equality terms key=value joined by commas"));
            return;
        }

        JsonArray items;
        string resourceVersion;
        lock (_lock)
        {
            resourceVersion = _resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
            items = new JsonArray([.. stored()
                .Where(item => @namespace == Namespace && terms.All(term => item["metadata"]!["labels"]?[term.Key]?.GetValue<string>() == term.Value))
                .Select(item =>
                {
                    var visible = (JsonObject)item.DeepClone();
                    visible.Remove("logs");
                    return (JsonNode)visible;
                })]);
        }

        afterListing?.Invoke();
        await WriteJsonAsync(context, 200, new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = listKind,
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
            ["items"] = items,
        });
    }

    /// <summary>
    /// The terms of an equality-based label selector, key=value joined by commas ("" selects everything), or null
    /// for any other syntax: the API server also knows "==", "!=", set-based terms and bare keys, which the gate
    /// never sends and which this stand-in would rather refuse than half understand.
    /// </summary>
    private static List<KeyValuePair<string, string>>? LabelSelectorTerms(string selector)
    {
        if (selector.Length == 0)
        {
            return [];
        }

        var terms = new List<KeyValuePair<string, string>>();
        foreach (var term in selector.Split(','))
        {
            var match = EqualityTerm().Match(term);
            if (!match.Success)
            {
                return null;
            }

            terms.Add(KeyValuePair.Create(match.Groups["key"].Value, match.Groups["value"].Value));
        }

        return terms;
    }

    /// <summary>
    /// A DELETE of a Job as the API server answers it: 404 when there is none, 409 when the uid of its
    /// preconditions is not the Job's. batch/v1 orphans a Job's pods unless the DeleteOptions' propagationPolicy
    /// says otherwise (kubernetes pkg/registry/batch/job/strategy.go at 36f3681, DefaultGarbageCollectionPolicy); Background
    /// and Foreground take the Job's pods with it, here at once.
    /// </summary>
    private async Task DeleteJobAsync(HttpContext context, string @namespace, string name)
    {
        var body = ((RecordedRequest)context.Items[typeof(RecordedRequest)]!).Body;
        string? policy;
        string? uid;
        try
        {
            var options = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body) as JsonObject ?? throw new InvalidOperationException("not a JSON object");
            if (options["kind"] is { } kind && kind.GetValue<string>() != "DeleteOptions")
            {
                throw new InvalidOperationException($"kind {kind} is not DeleteOptions");
            }

            policy = options["propagationPolicy"]?.GetValue<string>();
            uid = options["preconditions"]?["uid"]?.GetValue<string>();
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException)
        {
            await WriteJsonAsync(context, 400, Status(400, "BadRequest", $"the body is not DeleteOptions: {error.Message}"));
            return;
        }

        if (policy is not (null or "Background" or "Foreground" or "Orphan"))
        {
            await WriteJsonAsync(context, 422, Status(422, "Invalid", $"DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{policy}\""));
            return;
        }

        JsonObject? deleted;
        string? conflict = null;
        lock (_lock)
        {
            deleted = @namespace == Namespace ? _jobs.GetValueOrDefault(name) : null;
            var actualUid = deleted?["metadata"]!["uid"]!.GetValue<string>();
            if (deleted is not null && uid is not null && uid != actualUid)
            {
                conflict = $"Operation cannot be fulfilled on jobs.batch \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {actualUid}";
            }
            else if (deleted is not null)
            {
                RemoveJob(name);
                if (policy is "Background" or "Foreground")
                {
                    _pods.RemoveAll(pod => JobNameLabels.Any(label => pod["metadata"]!["labels"]?[label]?.GetValue<string>() == name));
                }
            }
        }

        if (deleted is null)
        {
            await WriteJsonAsync(context, 404, Status(404, "NotFound", $"jobs.batch \"{name}\" not found"));
            return;
        }

        if (conflict is not null)
        {
            await WriteJsonAsync(context, 409, Status(409, "Conflict", conflict));
            return;
        }

        await WriteJsonAsync(context, 200, deleted);
    }

    private async Task GetPodLogAsync(HttpContext context, string @namespace, string pod)
    {
        var container = context.Request.Query["container"].ToString();
        string? log;
        lock (_lock)
        {
            log = _pods.FirstOrDefault(candidate => @namespace == Namespace && candidate["metadata"]!["name"]!.GetValue<string>() == pod)?["logs"]?[container]?.GetValue<string>();
        }

        if (log is null)
        {
            await WriteJsonAsync(context, 400, Status(400, "BadRequest", $"container {container} is not valid for pod {pod}"));
            return;
        }

        var lines = log.Split('\n');
        if (int.TryParse(context.Request.Query["tailLines"], out var tailLines) && tailLines < lines.Length)
        {
            lines = lines[^tailLines..];
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(string.Join('\n', lines));
    }

    [GeneratedRegex("^(?<key>([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)=(?<value>([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)$")]
    private static partial Regex EqualityTerm();

    private static CertificateWithKey CreateCertificateAuthority(string name)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return new CertificateWithKey(request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1)), key);
    }

    private static X509Certificate2 CreateServerCertificate(CertificateWithKey authority)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority.Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        names.AddDnsName("kubernetes.default.svc");
        request.CertificateExtensions.Add(names.Build());
        var serialNumber = RandomNumberGenerator.GetBytes(16);
        serialNumber[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(authority.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(authority.Key), now.AddHours(-1), now.AddDays(1), serialNumber);
        return issued.CopyWithPrivateKey(key);
    }

    private sealed record CertificateWithKey(X509Certificate2 Certificate, ECDsa Key) : IDisposable
    {
        public void Dispose()
        {
            Certificate.Dispose();
            Key.Dispose();
        }
    }

    private sealed class Fault(string pathSuffix, int count, int statusCode, string body, string contentType)
    {
        public string PathSuffix { get; } = pathSuffix;

        public int Remaining { get; set; } = count;

        public int StatusCode { get; } = statusCode;

        public string Body { get; } = body;

        public string ContentType { get; } = contentType;
    }
}

public sealed record JobCondition(string Type, string Status, string Reason, string Message)
{
    public JsonObject ToJson() => new()
    {
        ["type"] = Type,
        ["status"] = Status,
        ["reason"] = Reason,
        ["message"] = Message,
        ["lastTransitionTime"] = "2025-01-01T00:00:00Z",
    };
}

/// <summary>One container of a Job's pod: its log and its status `state` (absent when it never got one).</summary>
public sealed record ContainerRun(string Name, string Log, JsonObject? State = null);

public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, string Authorization, string Body);
