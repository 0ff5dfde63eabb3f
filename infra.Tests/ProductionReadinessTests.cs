using System.Reflection;
using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using Pulumi;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>Serving, scheduled tasks, storage, security and data protection (the production-grade issue).</summary>
public sealed class ProductionReadinessTests
{
    public static TheoryData<string> Stacks => ["dev", "prod"];

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task EveryPod_MeetsTheRestrictedPodSecurityStandardWithRequestsAndLimits(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var pods = Pods(run).ToList();
        Assert.NotEmpty(pods);
        foreach (var (owner, spec) in pods)
        {
            var pod = spec.At("securityContext")!;
            Assert.True(pod.At("runAsNonRoot")!.GetValue<bool>(), owner);
            Assert.NotEqual(0, pod.At("runAsUser")!.GetValue<double>());
            Assert.Equal(pod.At("runAsUser")!.GetValue<double>(), pod.At("fsGroup")!.GetValue<double>());
            Assert.Equal("RuntimeDefault", pod.Str("seccompProfile.type"));
            Assert.Null(spec.At("hostNetwork"));
            Assert.DoesNotContain(spec.Objects("volumes"), v => v.At("hostPath") is not null);
            foreach (var container in MigrationGateWiringTests.Containers(spec))
            {
                var name = $"{owner}/{container.Str("name")}";
                Assert.False(container.At("securityContext.allowPrivilegeEscalation")!.GetValue<bool>(), name);
                Assert.Equal(["ALL"], container.Array("securityContext.capabilities.drop").Select(c => c!.GetValue<string>()));
                Assert.Null(container.At("securityContext.privileged"));
                Assert.Null(container.At("securityContext.capabilities.add"));
                foreach (var kind in new[] { "requests", "limits" })
                {
                    Assert.NotNull(container.Str($"resources.{kind}.cpu"));
                    Assert.NotNull(container.Str($"resources.{kind}.memory"));
                }
            }
        }

        var piefedPods = pods.Where(p => p.Spec.Objects("containers").Any(c => c.Str("image")!.Contains("pyfedi", StringComparison.Ordinal)));
        Assert.All(piefedPods, p => Assert.Equal(1000, p.Spec.At("securityContext.runAsUser")!.GetValue<double>()));
        var ns = run.Single(NamespaceType).Inputs;
        Assert.Equal("restricted", ns.Str("metadata.labels['pod-security.kubernetes.io/enforce']"));
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task GatedPods_EachWaitWithASmallBudgetBelowTheirMainContainers(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var gated = MigrationGateWiringTests.GatedPodSpecs(run).ToList();
        var owners = gated.Select(p => p.Owner).ToList();
        Assert.Contains("piefed-web", owners);
        Assert.Contains("piefed-worker", owners);
        Assert.Contains("piefed-db-backups-scheduled", owners);
        Assert.Contains(owners, o => o.StartsWith("piefed-cron-", StringComparison.Ordinal));
        foreach (var (owner, spec) in gated)
        {
            var waiter = Assert.Single(spec.Objects("initContainers"));
            Assert.Equal("wait-for-migrations", waiter.Str("name"));
            Assert.Equal(
                ("10m", "32Mi", "200m", "128Mi"),
                (waiter.Str("resources.requests.cpu"), waiter.Str("resources.requests.memory"), waiter.Str("resources.limits.cpu"), waiter.Str("resources.limits.memory")));
            // The first container is the pod's main one; a web pod's community-search refresh comes after it.
            var main = spec.Objects("containers").First();
            foreach (var quantity in new[] { "requests.cpu", "requests.memory", "limits.cpu", "limits.memory" })
            {
                Assert.True(
                    Quantity(waiter.Str($"resources.{quantity}")!) < Quantity(main.Str($"resources.{quantity}")!),
                    $"{owner}: the waiter's {quantity} is not below the main container's.");
            }
        }
    }

    [Fact]
    public async Task Web_IsServedOnPort5000_ReadyOnHealth_AliveOnAStaticFile()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var service = run.OfType(ServiceType).Single(s => s.Name == "piefed-web").Inputs;
        Assert.Equal(5000, service.At("spec.ports[0].port")!.GetValue<double>());
        Assert.Equal("http", service.Str("spec.ports[0].targetPort"));
        Assert.Equal("web", service.Str("spec.selector['app.kubernetes.io/component']"));

        var web = run.Deployment("web").Inputs.At("spec.template.spec.containers[0]")!;
        Assert.Equal(5000, web.At("ports[0].containerPort")!.GetValue<double>());
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("http", web.Str($"{probe}.httpGet.port"));
        }

        // pyfedi.py's before_request (v1.7.7) loads the site from the database on every path but /inbox and /static/.
        Assert.Equal("/health", web.Str("readinessProbe.httpGet.path"));
        Assert.StartsWith("/static/", web.Str("livenessProbe.httpGet.path"), StringComparison.Ordinal);
        Assert.StartsWith("/static/", web.Str("startupProbe.httpGet.path"), StringComparison.Ordinal);

        Assert.DoesNotContain("/health2", run.Deployment("web").Inputs.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_GunicornWorkersComeFromConfig()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("web", "gunicornWorkers", 7));

        var command = run.Deployment("web").Inputs.Array("spec.template.spec.containers[0].command").Select(c => c!.GetValue<string>()).ToList();
        Assert.Equal("7", command[command.IndexOf("--workers") + 1]);
    }

    [Fact]
    public async Task Web_OneReplica_HasNoDisruptionBudget()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("web", "replicas", 1));

        Assert.DoesNotContain(run.OfType(PodDisruptionBudgetType), b => b.Name == "piefed-web-budget");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public async Task Web_MoreThanOneReplica_HasOneDisruptionBudgetSelectingExactlyTheWebPods(int replicas)
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("web", "replicas", replicas));

        var budget = Assert.Single(run.OfType(PodDisruptionBudgetType), b => b.Name.StartsWith("piefed-web", StringComparison.Ordinal)).Inputs;
        Assert.Equal(1, budget.At("spec.maxUnavailable")!.GetValue<double>());
        Assert.Equal("piefed", budget.Str("metadata.namespace"));
        Assert.Null(budget.At("spec.selector.matchExpressions"));
        var selector = budget.At("spec.selector.matchLabels")!.AsObject().ToDictionary(l => l.Key, l => l.Value!.GetValue<string>());
        Assert.NotEmpty(selector);
        var selected = Pods(run)
            .Select(p => p.Owner)
            .Where(owner => PodLabels(run, owner).Intersect(selector).Count() == selector.Count)
            .ToList();
        Assert.Equal(["piefed-web"], selected);
    }

    [Theory]
    [InlineData("web")]
    [InlineData("worker")]
    public async Task Deployments_RollWithoutDroppingBelowTheirReplicas(string component)
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var strategy = run.Deployment(component).Inputs.At("spec.strategy")!;
        Assert.Equal("RollingUpdate", strategy.Str("type"));
        Assert.Equal(0, strategy.At("rollingUpdate.maxUnavailable")!.GetValue<double>());
        Assert.Equal(1, strategy.At("rollingUpdate.maxSurge")!.GetValue<double>());
    }

    [Fact]
    public async Task Ingress_OnInProd_RoutesTheServerNameWithTlsClassAndAnnotations()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var ingress = Assert.Single(run.OfType(IngressType), i => i.Name == "piefed-web").Inputs;
        Assert.Equal("piefed.example.org", ingress.Str("spec.rules[0].host"));
        Assert.Equal("piefed-web", ingress.Str("spec.rules[0].http.paths[0].backend.service.name"));
        Assert.Equal("http", ingress.Str("spec.rules[0].http.paths[0].backend.service.port.name"));
        Assert.Equal("nginx", ingress.Str("spec.ingressClassName"));
        Assert.Equal("piefed-tls", ingress.Str("spec.tls[0].secretName"));
        Assert.Equal("piefed.example.org", ingress.Str("spec.tls[0].hosts[0]"));
        Assert.Equal("letsencrypt", ingress.Str("metadata.annotations['cert-manager.io/cluster-issuer']"));
    }

    [Fact]
    public async Task Ingress_Disabled_RegistersNoIngressButKeepsTheService()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("ingress", "enabled", false));

        Assert.Empty(run.OfType(IngressType));
        Assert.Single(run.OfType(ServiceType), s => s.Name == "piefed-web");
    }

    [Fact]
    public async Task Worker_ShutdownIsGracefulAndLivenessNeverGoesThroughTheBroker()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("worker", "terminationGracePeriodSeconds", 600));

        var pod = run.Deployment("worker").Inputs.At("spec.template.spec")!;
        Assert.Equal(600, pod.At("terminationGracePeriodSeconds")!.GetValue<double>());
        var command = string.Join(' ', pod.Array("containers[0].livenessProbe.exec.command").Select(c => c!.GetValue<string>()));
        Assert.StartsWith("python3 -c ", command, StringComparison.Ordinal);
        Assert.DoesNotContain("celery", command, StringComparison.Ordinal);
        Assert.DoesNotContain("import app", command, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduledTasks_RunUpstreamsCommandsGatedAndNeverOverlapping()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var jobName = await ValueAsync<string>(run.Outputs["migrationJobName"]);
        var cronJobs = run.OfType(CronJobType).Where(c => !Ungated.Contains(c.Name)).ToDictionary(c => c.Inputs.Str("metadata.name")!, c => c.Inputs);
        Assert.Equal("5 2 * * *", cronJobs["piefed-daily-maintenance"].Str("spec.schedule"));
        Assert.Equal("* * * * *", cronJobs["piefed-send-queue"].Str("spec.schedule"));
        Assert.Equal("5 4 * * 1", cronJobs["piefed-remove-orphan-files"].Str("spec.schedule"));
        Assert.Equal(["flask", "send_missed_notifs"], cronJobs["piefed-send-missed-notifs"].Array("spec.jobTemplate.spec.template.spec.containers[0].command").Select(c => c!.GetValue<string>()));
        foreach (var cronJob in cronJobs.Values)
        {
            Assert.Equal("Forbid", cronJob.Str("spec.concurrencyPolicy"));
            var pod = cronJob.At("spec.jobTemplate.spec.template.spec")!;
            var init = Assert.Single(pod.Objects("initContainers"));
            Assert.Equal("wait-for-migrations", init.Str("name"));
            Assert.Equal(jobName, init.Objects("env").Single(e => e.Str("name") == "JOB_NAME").Str("value"));
        }

        Assert.DoesNotContain("CRON", StackInventoryTests.Environment(run).Keys);
    }

    [Fact]
    public async Task ScheduledTasks_AreConfigurableAndCanBeDisabled()
    {
        var run = await ProgramAsync(StackConfig.Prod
            .WithField("cron", "sendQueue", "*/2 * * * *")
            .WithField("cron", "dailyMaintenance", "disabled"));

        var cronJobs = run.OfType(CronJobType)
            .Where(c => c.Inputs.Str("metadata.labels['app.kubernetes.io/component']") == "scheduled-task")
            .ToDictionary(c => c.Inputs.Str("metadata.name")!, c => c.Inputs);
        Assert.Equal("*/2 * * * *", cronJobs["piefed-send-queue"].Str("spec.schedule"));
        Assert.DoesNotContain("piefed-daily-maintenance", cronJobs.Keys);
        Assert.Equal(5, cronJobs.Count);
    }

    [Fact]
    public async Task Media_OnAClaim_IsSharedByWebWorkerAndTasksButNotTheMigration()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var claim = Assert.Single(run.OfType(PersistentVolumeClaimType), c => c.Name == "piefed-media").Inputs;
        Assert.Equal("piefed-media", claim.Str("metadata.name"));
        Assert.Equal("true", claim.Str("metadata.annotations['pulumi.com/skipAwait']"));
        foreach (var (owner, spec) in Pods(run).Where(p => !DatabaseOnly.Contains(p.Owner)))
        {
            Assert.Equal("piefed-media", spec.Objects("volumes").Single(v => v.Str("name") == "media").Str("persistentVolumeClaim.claimName"));
            Assert.Contains(spec.Objects("containers[0].volumeMounts"), m => m.Str("name") == "media" && m.Str("mountPath") == "/app/app/static/media");
        }

        Assert.All(Pods(run).Where(p => DatabaseOnly.Contains(p.Owner)), p => Assert.DoesNotContain(p.Spec.Objects("volumes"), v => v.Str("name") == "media"));
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task PieFedPods_GetScratchLogsAndMemoryBackedShm(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        foreach (var (owner, spec) in Pods(run).Where(p => p.Spec.Objects("containers").Any(c => c.Str("image")!.Contains("pyfedi", StringComparison.Ordinal))))
        {
            var volumes = spec.Objects("volumes").ToDictionary(v => v.Str("name")!);
            Assert.Equal("Memory", volumes["dshm"].Str("emptyDir.medium"));
            Assert.NotNull(volumes["tmp"].At("emptyDir"));
            Assert.NotNull(volumes["logs"].At("emptyDir"));
            var mounts = spec.Objects("containers[0].volumeMounts").ToDictionary(m => m.Str("name")!, m => m.Str("mountPath"));
            Assert.Equal("/dev/shm", mounts["dshm"]);
            Assert.Equal("/app/app/static/tmp", mounts["tmp"]);
            Assert.Equal("/app/logs", mounts["logs"]);
        }
    }

    [Fact]
    public async Task Media_InS3_NeedsNoClaimAndPassesItsSettingsAsEnvironmentAndSecrets()
    {
        var run = await ProgramAsync(StackConfig.Prod
            .WithField("media", "storage", "s3")
            .WithField("media", "s3.region", "eu-central-1")
            .WithField("media", "s3.bucket", "piefed-media")
            .WithField("media", "s3.endpoint", "https://s3.eu-central-1.example.com")
            .WithField("media", "s3.publicUrl", "media.example.org")
            .With("s3AccessKey", "AKIAEXAMPLE")
            .With("s3AccessSecret", "s3-secret"));

        Assert.DoesNotContain(run.OfType(PersistentVolumeClaimType), c => c.Name == "piefed-media");
        var environment = StackInventoryTests.Environment(run);
        Assert.Equal("eu-central-1", environment["S3_REGION"]);
        Assert.Equal("piefed-media", environment["S3_BUCKET"]);
        Assert.Equal("https://s3.eu-central-1.example.com", environment["S3_ENDPOINT"]);
        Assert.Equal("media.example.org", environment["S3_PUBLIC_URL"]);
        Assert.DoesNotContain("S3_ACCESS_SECRET", environment.Keys);
        var secrets = StackInventoryTests.Secrets(run);
        Assert.Equal("AKIAEXAMPLE", secrets["S3_ACCESS_KEY"]);
        Assert.Equal("s3-secret", secrets["S3_ACCESS_SECRET"]);
        var web = run.Deployment("web").Inputs.At("spec.template.spec")!;
        Assert.NotNull(web.Objects("volumes").Single(v => v.Str("name") == "media").At("emptyDir"));
    }

    [Fact]
    public async Task Prod_RegistersNoBundledServers()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        Assert.Empty(run.OfType(StatefulSetType));
        Assert.Empty(run.OfType("piefed:data:BundledServer"));
        Assert.Equal(["piefed-config-admin-password", "piefed-config-secret-key"], run.OfType(RecordingMocks.RandomPasswordType).Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Dev_BundlesPostgresAndRedisWithGeneratedPasswordsAndRetainedData()
    {
        var run = await ProgramAsync(StackConfig.Dev);

        var statefulSets = run.OfType(StatefulSetType).ToDictionary(s => s.Name, s => s.Inputs);
        Assert.Equal(["piefed-postgres", "piefed-redis"], statefulSets.Keys.Order());
        foreach (var statefulSet in statefulSets.Values)
        {
            Assert.Equal("Retain", statefulSet.Str("spec.persistentVolumeClaimRetentionPolicy.whenDeleted"));
            Assert.Equal("2Gi", statefulSet.Str("spec.volumeClaimTemplates[0].spec.resources.requests.storage"));
            Assert.NotNull(statefulSet.At("spec.template.spec.containers[0].readinessProbe.exec"));
        }

        var postgresEnv = statefulSets["piefed-postgres"].Objects("spec.template.spec.containers[0].env").ToDictionary(e => e.Str("name")!);
        Assert.StartsWith("piefed-postgres-credentials-", postgresEnv["POSTGRES_PASSWORD"].Str("valueFrom.secretKeyRef.name"), StringComparison.Ordinal);
        Assert.Equal("piefed", postgresEnv["POSTGRES_DB"].Str("value"));
    }

    [Fact]
    public async Task Dev_BundledServers_RunWithoutAnApiToken()
    {
        var run = await ProgramAsync(StackConfig.Dev);

        var servers = run.OfType(StatefulSetType).ToList();
        Assert.Equal(["piefed-postgres", "piefed-redis"], servers.Select(s => s.Name).Order());
        foreach (var server in servers)
        {
            var pod = server.Inputs.At("spec.template.spec")!;
            // Unset means true: Kubernetes would mount the namespace's default account token into every container.
            Assert.True(pod.At("automountServiceAccountToken")?.GetValue<bool>() == false, $"{server.Name} mounts an API token.");
            Assert.DoesNotContain(pod.Objects("volumes"), v => v.At("projected") is not null);
            Assert.All(MigrationGateWiringTests.Containers(pod), c => Assert.DoesNotContain(
                c.Objects("volumeMounts"), m => m.Str("mountPath")!.StartsWith("/var/run/secrets/kubernetes.io", StringComparison.Ordinal)));
        }
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task CronJobs_EachRunsOnceAtATimeWithoutRetriesAndWithADeadline(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var cronJobs = run.OfType(CronJobType).ToList();
        Assert.Contains(cronJobs, c => c.Name == "piefed-db-backups-scheduled");
        Assert.Contains(cronJobs, c => c.Name == "piefed-db-backups-restore");
        Assert.Contains(cronJobs, c => c.Name.StartsWith("piefed-cron-", StringComparison.Ordinal));
        foreach (var cronJob in cronJobs)
        {
            var spec = cronJob.Inputs.At("spec")!;
            Assert.Equal("Forbid", spec.Str("concurrencyPolicy"));
            Assert.Equal(0, spec.At("jobTemplate.spec.backoffLimit")?.GetValue<double>());
            Assert.True(spec.At("jobTemplate.spec.activeDeadlineSeconds")?.GetValue<double>() > 0, $"{cronJob.Name} has no deadline.");
            // The kubelet restarts a failed container in place under OnFailure, whatever the backoffLimit.
            Assert.Equal("Never", spec.Str("jobTemplate.spec.template.spec.restartPolicy"));
        }
    }

    [Fact]
    public async Task Protection_ProdProtectsNamespaceMediaBackupsAndTheGeneratedSecretKeyAndAdminPasswordOnly()
    {
        var protectedResources = await ProtectedAsync(StackConfig.Prod);

        Assert.Equal(
            ["piefed-backups (kubernetes:core/v1:PersistentVolumeClaim)", "piefed-backups (piefed:data:BackupVolume)",
             "piefed-config-admin-password (random:index/randomPassword:RandomPassword)",
             "piefed-config-secret-key (random:index/randomPassword:RandomPassword)",
             "piefed-media (kubernetes:core/v1:PersistentVolumeClaim)", "piefed-media (piefed:data:MediaVolume)",
             "piefed-namespace (kubernetes:core/v1:Namespace)", "piefed-namespace (piefed:core:AppNamespace)"],
            protectedResources);
    }

    [Fact]
    public async Task Protection_DevProtectsNothingByDefault()
    {
        Assert.Empty(await ProtectedAsync(StackConfig.Dev));
    }

    [Fact]
    public async Task Protection_DevWithProtectData_AlsoProtectsTheBundledDatabaseAndEveryGeneratedPasswordButNotRedis()
    {
        var protectedResources = await ProtectedAsync(StackConfig.Dev.With("protectData", "true"));

        Assert.Contains("piefed-postgres (kubernetes:apps/v1:StatefulSet)", protectedResources);
        Assert.Contains("piefed-postgres-password (random:index/randomPassword:RandomPassword)", protectedResources);
        Assert.Contains("piefed-redis-password (random:index/randomPassword:RandomPassword)", protectedResources);
        Assert.Contains("piefed-config-secret-key (random:index/randomPassword:RandomPassword)", protectedResources);
        Assert.Contains("piefed-namespace (kubernetes:core/v1:Namespace)", protectedResources);
        Assert.DoesNotContain(protectedResources, r => r.StartsWith("piefed-redis", StringComparison.Ordinal) && !r.StartsWith("piefed-redis-password", StringComparison.Ordinal));
        Assert.DoesNotContain(protectedResources, r => r.StartsWith("piefed-web", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Protection_ProdWithProtectDataOff_ProtectsNothing()
    {
        Assert.Empty(await ProtectedAsync(StackConfig.Prod.With("protectData", "false")));
    }

    /// <summary>
    /// The pods that run without the migration gate: the migration itself, the restore that replaces a
    /// failed one, and the notifications service, which never touches the database.
    /// </summary>
    internal static readonly string[] Ungated = ["piefed-db-init", "piefed-db-backups-restore", "piefed-notifications"];

    /// <summary>The pods that never read or write uploads, and so never wait for the media volume.</summary>
    internal static readonly string[] DatabaseOnly = [.. Ungated, "piefed-db-backups-scheduled"];

    internal static IEnumerable<(string Owner, JsonNode Spec)> Pods(StackRun run)
        => MigrationGateWiringTests.PodSpecs(run)
            .Concat(run.OfType(StatefulSetType).Select(s => (s.Name, s.Inputs.At("spec.template.spec")!)))
            .Concat(run.OfType(CronJobType).Select(c => (c.Name, c.Inputs.At("spec.jobTemplate.spec.template.spec")!)));

    /// <summary>The labels a pod of this owner (a workload or a CronJob) is created with.</summary>
    private static Dictionary<string, string> PodLabels(StackRun run, string owner)
    {
        var workload = run.Registrations.Single(r => r.Name == owner && r.Type is DeploymentType or StatefulSetType or JobType or CronJobType).Inputs;
        var template = workload.At("spec.template") ?? workload.At("spec.jobTemplate.spec.template")!;
        return template.At("metadata.labels")!.AsObject().ToDictionary(l => l.Key, l => l.Value!.GetValue<string>());
    }

    /// <summary>A Kubernetes quantity such as "250m", "2", "512Mi" or "1Gi", in cores or bytes.</summary>
    private static decimal Quantity(string text)
    {
        (string Suffix, decimal Factor)[] suffixes = [("m", 0.001m), ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024)];
        var (suffix, factor) = suffixes.FirstOrDefault(s => text.EndsWith(s.Suffix, StringComparison.Ordinal), (Suffix: "", Factor: 1m));
        return decimal.Parse(text[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture) * factor;
    }

    /// <summary>
    /// The resources the engine is asked to protect. Pulumi's Resource constructor (pulumi-dotnet
    /// v3.112.1, sdk/Pulumi/Resources/Resource.cs) runs the transformations on the options as
    /// declared, then fills an unset protection from the parent (<c>options.Protect ??=
    /// options.Parent._protect</c>), keeps the result in <c>_protect</c> and registers with those
    /// options, from which Deployment_RegisterResource.cs sets the request's <c>Protect</c>. A
    /// transformation sees only the declared value and the mocks see none (pulumi/pulumi#14421), so
    /// the test reads the value the SDK computed rather than computing it again.
    /// </summary>
    private static async Task<List<string>> ProtectedAsync(StackConfig config)
    {
        var run = await ProgramAsync(config);
        var protect = typeof(Resource).GetField("_protect", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("Pulumi's Resource no longer keeps its protection in _protect: read how this SDK version resolves it.");

        return [.. run.Resources.Where(r => protect.GetValue(r) is true)
            .Select(r => $"{r.GetResourceName()} ({r.GetResourceType()})")
            .Order(StringComparer.Ordinal)];
    }
}
