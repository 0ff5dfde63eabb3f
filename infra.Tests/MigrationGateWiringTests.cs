using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.MigrationGate;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>How the program wires the gate: RBAC, init containers, the token, and who migrates.</summary>
public sealed class MigrationGateWiringTests
{
    private const string ProdImage = "codeberg.org/rimu/pyfedi:v1.7.7";
    private const string TokenPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    public static TheoryData<string> Stacks => ["dev", "prod"];

    public static TheoryData<string> GatedComponents => ["web", "worker"];

    [Fact]
    public async Task Rbac_Role_GrantsExactlyWhatTheWaiterDeclaresItRequestsInItsNamespace()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var role = run.Single(RoleType).Inputs;
        // Python's reading of the shipped script, not the program's: a parser that misreads it cannot pass.
        var declared = await PythonDeclaredAccess.ReadAsync();
        Assert.Equal(RoleAccess.Sorted(declared.Distinct()), RoleAccess.Sorted(RoleAccess.Of(role)));
        Assert.Equal("piefed", role.Str("metadata.namespace"));
        Assert.Empty(run.OfType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"));
        Assert.Empty(run.OfType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"));
    }

    [Fact]
    public async Task Rbac_RoleBinding_BindsTheRoleToTheAccountTheInitContainersUse()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var account = run.Single(ServiceAccountType).Inputs;
        var role = run.Single(RoleType).Inputs;
        var binding = run.Single(RoleBindingType).Inputs;
        Assert.Equal("piefed", binding.Str("metadata.namespace"));
        Assert.Equal("Role", binding.Str("roleRef.kind"));
        Assert.Equal(role.Str("metadata.name"), binding.Str("roleRef.name"));
        var subject = Assert.Single(binding.Objects("subjects"));
        Assert.Equal("ServiceAccount", subject.Str("kind"));
        Assert.Equal(account.Str("metadata.name"), subject.Str("name"));
        Assert.Equal("piefed", subject.Str("namespace"));
        Assert.False(account.At("automountServiceAccountToken")!.GetValue<bool>());

        foreach (var component in new[] { "web", "worker" })
        {
            Assert.Equal(account.Str("metadata.name"), run.Deployment(component).Inputs.Str("spec.template.spec.serviceAccountName"));
        }
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task Pods_ServiceAccountToken_IsMountedIntoTheWaiterAndNowhereElse(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var pods = ProductionReadinessTests.Pods(run).ToList();
        var owners = pods.Select(p => p.Owner).ToList();
        var workloads = run.Registrations.Where(r => r.Type is DeploymentType or JobType or StatefulSetType or CronJobType).Select(r => r.Name);
        Assert.Equal(workloads.Order(), owners.Order());
        Assert.Contains("piefed-db-backups-scheduled", owners);
        Assert.Contains("piefed-db-backups-restore", owners);
        // The Job, the restore and the bundled servers get no token at all.
        var gated = GatedPodSpecs(run).Select(p => p.Owner).ToHashSet();
        foreach (var (owner, spec) in pods)
        {
            Assert.True(spec.At("automountServiceAccountToken")?.GetValue<bool>() == false, $"{owner} mounts the account's token into every container.");
            var tokenVolumes = spec.Objects("volumes")
                .Where(v => v.Objects("projected.sources").Any(s => s.At("serviceAccountToken") is not null))
                .ToList();
            if (gated.Contains(owner))
            {
                var tokenVolume = Assert.Single(tokenVolumes);
                Assert.Equal("token", tokenVolume.Str("projected.sources[0].serviceAccountToken.path"));
                Assert.Equal("kube-root-ca.crt", tokenVolume.Str("projected.sources[1].configMap.name"));
                Assert.Equal("metadata.namespace", tokenVolume.Str("projected.sources[2].downwardAPI.items[0].fieldRef.fieldPath"));
            }
            else
            {
                Assert.True(tokenVolumes.Count == 0, $"{owner} has a token volume.");
            }

            foreach (var container in Containers(spec))
            {
                var mountsToken = container.Objects("volumeMounts")
                    .Any(m => m.Str("mountPath") == TokenPath || tokenVolumes.Any(v => v.Str("name") == m.Str("name")));
                Assert.True(
                    mountsToken == (gated.Contains(owner) && container.Str("name") == "wait-for-migrations"),
                    $"{owner}/{container.Str("name")} {(mountsToken ? "mounts" : "does not mount")} the token.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(GatedComponents))]
    public async Task Deployment_InitContainer_WaitsForThisReleasesJobWithinTheTimeout(string component)
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var jobName = await ValueAsync<string>(run.Outputs["migrationJobName"]);
        var spec = run.Deployment(component).Inputs.At("spec.template.spec")!;
        var init = Assert.Single(spec.Objects("initContainers"));
        Assert.Equal("wait-for-migrations", init.Str("name"));
        Assert.Equal(["python3", $"{MigrationScripts.MountPath}/{MigrationScripts.WaitForMigrationsFileName}"], Strings(init, "command"));
        Assert.Equal(ProdImage, init.Str("image"));
        var env = init.Objects("env").ToDictionary(e => e.Str("name")!);
        Assert.Equal(jobName, env["JOB_NAME"].Str("value"));
        // Pods wait as long as the Job may run: production's 15 minutes of migration and the dump's 30 before it.
        Assert.Equal("2700", env["WAIT_TIMEOUT_SECONDS"].Str("value"));
        Assert.Equal("metadata.namespace", env["JOB_NAMESPACE"].Str("valueFrom.fieldRef.fieldPath"));

        var scriptsVolume = Assert.Single(spec.Objects("volumes"), v => v.At("configMap") is not null);
        Assert.StartsWith("piefed-config-scripts-", scriptsVolume.Str("configMap.name"), StringComparison.Ordinal);
        Assert.Contains(init.Objects("volumeMounts"), m => m.Str("name") == scriptsVolume.Str("name") && m.Str("mountPath") == MigrationScripts.MountPath);
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task Waiters_PruneTheJobsLabelledAsTheMigrationJobIs(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var jobLabels = Labels(run.Single(JobType).Inputs.At("metadata.labels"));
        var selectors = GatedPodSpecs(run)
            .Select(p => p.Spec.Objects("initContainers").Single(c => c.Str("name") == "wait-for-migrations"))
            .Select(waiter => waiter.Objects("env").Single(e => e.Str("name") == "MIGRATION_JOBS_SELECTOR").Str("value")!)
            .ToList();
        Assert.NotEmpty(selectors);
        var selector = Assert.Single(selectors.Distinct());
        // The labels every release's Job carries alike, not managed-by, which adoption may have set otherwise.
        Assert.Equal(
            jobLabels.Where(label => label.Key != "app.kubernetes.io/managed-by").OrderBy(label => label.Key, StringComparer.Ordinal),
            SelectorTerms(selector).OrderBy(label => label.Key, StringComparer.Ordinal));
        Assert.True(Selects(selector, jobLabels), $"{selector} does not select the migration Job, labelled {string.Join(',', jobLabels)}.");
    }

    [Fact]
    public async Task Waiters_PruneNoJobOfAnotherComponent()
    {
        // A declared restore is the other Job the program creates; the CronJobs create Jobs of their own.
        var run = await ProgramAsync(StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest"));

        var selector = Assert.Single(GatedPodSpecs(run)
            .Select(p => p.Spec.Objects("initContainers").Single(c => c.Str("name") == "wait-for-migrations"))
            .Select(waiter => waiter.Objects("env").Single(e => e.Str("name") == "MIGRATION_JOBS_SELECTOR").Str("value")!)
            .Distinct());
        var restore = Assert.Single(run.OfType(JobType), j => j.Name == "piefed-db-restore").Inputs;
        Assert.False(Selects(selector, Labels(restore.At("metadata.labels"))), "The selector selects the restore Job.");
        var cronJobs = run.OfType(CronJobType).ToList();
        Assert.Contains(cronJobs, c => c.Name == "piefed-db-backups-scheduled");
        foreach (var cronJob in cronJobs)
        {
            // A Job without labels of its own gets its pod template's (kubernetes pkg/apis/batch/v1/defaults.go, SetDefaults_Job).
            var template = cronJob.Inputs.At("spec.jobTemplate")!;
            var labels = Labels(template.At("metadata.labels")) is { Count: > 0 } own ? own : Labels(template.At("spec.template.metadata.labels"));
            Assert.NotEmpty(labels);
            Assert.False(Selects(selector, labels), $"The selector selects the Jobs of {cronJob.Name}.");
        }
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task PieFedContainers_NoneMigratesButTheJob(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var containers = ProductionReadinessTests.Pods(run)
            .SelectMany(p => Containers(p.Spec).Select(c => (p.Owner, Container: c)))
            .Where(p => p.Container.Str("image")!.Contains("pyfedi", StringComparison.Ordinal))
            .ToList();
        var dbInitRuns = new List<(string Owner, string Mode)>();
        foreach (var (owner, container) in containers)
        {
            var name = $"{owner}/{container.Str("name")}";
            // Without a command of its own, a container runs the image's entrypoint, which upgrades the database.
            Assert.True(container.Array("command").Count > 0, $"{name} runs the image's entrypoint.");
            var words = Strings(container, "command").Concat(Strings(container, "args"))
                .SelectMany(w => w.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .ToArray();
            var line = string.Join(' ', words);
            Assert.DoesNotContain("entrypoint", line, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"\bflask\s+db\s+upgrade\b", line);
            Assert.DoesNotMatch(@"\bflask\s+init-db\b", line);
            var script = Array.FindIndex(words, w => w.EndsWith("/db_init.py", StringComparison.Ordinal) || w == "db_init.py");
            if (script >= 0)
            {
                dbInitRuns.Add((owner, script + 1 < words.Length ? words[script + 1] : "migrate"));
            }
        }

        Assert.Equal(
            [("piefed-db-backups-restore", "restore"), ("piefed-db-backups-scheduled", "backup"), ("piefed-db-init", "migrate")],
            dbInitRuns.Order());
        var web = Strings(MainContainer(run, "web"), "command");
        Assert.Equal(["gunicorn", "pyfedi:app"], [web[0], web[^1]]);
        Assert.Equal(["celery", "-A", "celery_worker_docker.celery", "worker"], Strings(MainContainer(run, "worker"), "command")[..4]);
        var job = run.Single(JobType).Inputs;
        var migrator = Assert.Single(job.Objects("spec.template.spec.containers"));
        Assert.Equal(["python3", $"{MigrationScripts.MountPath}/{MigrationScripts.DbInitFileName}"], Strings(migrator, "command"));
        Assert.Equal("Never", job.Str("spec.template.spec.restartPolicy"));
    }

    [Fact]
    public async Task AllPieFedContainers_ReadTheAppEnvironmentThroughTheirOutputs()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        foreach (var container in new[] { MainContainer(run, "web"), MainContainer(run, "worker"), run.Single(JobType).Inputs.Objects("spec.template.spec.containers").Single() })
        {
            var envFrom = container.Objects("envFrom").ToList();
            Assert.StartsWith("piefed-config-env-", envFrom[0].Str("configMapRef.name"), StringComparison.Ordinal);
            Assert.StartsWith("piefed-config-secrets-", envFrom[1].Str("secretRef.name"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Job_IsAwaitedRetriedAndKept()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("migration", "backoffLimit", 5));

        var job = run.Single(JobType).Inputs;
        Assert.Null(job.Str("metadata.name"));
        Assert.Equal("true", job.Str("metadata.annotations['pulumi.com/replaceUnready']"));
        Assert.Equal("2700", job.Str("metadata.annotations['pulumi.com/timeoutSeconds']"));
        Assert.Null(job.At("metadata.annotations['pulumi.com/skipAwait']"));
        Assert.Equal(5, job.At("spec.backoffLimit")!.GetValue<double>());
        Assert.Null(job.At("spec.ttlSecondsAfterFinished"));
    }

    [Fact]
    public async Task SameConfigurationAgain_KeepsTheMigrationRun()
    {
        var first = await ProgramAsync(StackConfig.Prod);
        var again = await first.UpdateAsync(StackConfig.Prod);

        var jobName = await ValueAsync<string>(first.Outputs["migrationJobName"]);
        Assert.Equal(jobName, await ValueAsync<string>(again.Outputs["migrationJobName"]));
        Assert.All(GatedPodSpecs(again), p => Assert.Equal(jobName, WaitedForJob(p.Spec)));
    }

    [Fact]
    public async Task NewImageTag_StartsANewMigrationRunThatEveryGatedPodWaitsFor()
    {
        var first = await ProgramAsync(StackConfig.Prod);
        var upgraded = await first.UpdateAsync(StackConfig.Prod.WithField("image", "tag", "v1.8.0"));

        var jobBefore = await ValueAsync<string>(first.Outputs["migrationJobName"]);
        var jobAfter = await ValueAsync<string>(upgraded.Outputs["migrationJobName"]);
        Assert.NotEqual(jobBefore, jobAfter);
        Assert.StartsWith("piefed-db-init-", jobAfter, StringComparison.Ordinal);
        Assert.Equal("codeberg.org/rimu/pyfedi:v1.8.0", upgraded.Single(JobType).Inputs.Str("spec.template.spec.containers[0].image"));
        Assert.All(GatedPodSpecs(upgraded), p =>
        {
            Assert.Equal(jobAfter, WaitedForJob(p.Spec));
            Assert.Equal("codeberg.org/rimu/pyfedi:v1.8.0", p.Spec.Str("containers[0].image"));
        });
    }

    [Theory]
    [InlineData("backoffLimit", 7, false)]
    [InlineData("timeoutMinutes", 25, true)]
    [InlineData("lockTimeoutSeconds", 9, true)]
    public async Task MigrationSettings_UpdateTheJobInPlaceOrStartANewRunAsTheManualSays(string field, int value, bool newRun)
    {
        // docs/operations.md, "What each change does": pulumi-kubernetes replaces a Job only for its
        // template, selector, completions or parallelism (the mocks' rules), so a retry count is
        // updated in place, while what reaches the container's environment is a new run.
        var first = await ProgramAsync(StackConfig.Prod);
        var changed = await first.UpdateAsync(StackConfig.Prod.WithField("migration", field, value));

        var before = await ValueAsync<string>(first.Outputs["migrationJobName"]);
        var after = await ValueAsync<string>(changed.Outputs["migrationJobName"]);
        Assert.Equal(newRun, before != after);
    }

    [Theory]
    [InlineData("prod", "media", "accessMode", "ReadWriteOnce", PersistentVolumeClaimType, "piefed-media")]
    [InlineData("prod", "media", "storageClass", "fast-nfs", PersistentVolumeClaimType, "piefed-media")]
    [InlineData("prod", "backup", "storageClass", "fast-ssd", PersistentVolumeClaimType, "piefed-backups")]
    [InlineData("dev", "bundledServices", "storageSize", "20Gi", StatefulSetType, "piefed-postgres")]
    [InlineData("dev", "bundledServices", "storageClass", "fast-ssd", StatefulSetType, "piefed-postgres")]
    public async Task FixedNameObjects_AreReplacedByTheChangesTheManualWarnsOf(string stack, string key, string field, string value, string type, string name)
    {
        // docs/operations.md, "What each change does": these objects have fixed names, so a
        // replacement deletes the old one first; the mocks' rules are pulumi-kubernetes' (diff.go).
        var config = stack == "dev" ? StackConfig.Dev : StackConfig.Prod.WithField("media", "singleNode", true);
        var first = await ProgramAsync(config);
        var changed = await first.UpdateAsync(config.WithField(key, field, value));

        var before = Assert.Single(first.OfType(type), r => r.Name == name).Inputs;
        var after = Assert.Single(changed.OfType(type), r => r.Name == name).Inputs;
        Assert.Equal(name, after.Str("metadata.name"));
        Assert.True(RecordingMocks.Replaces(type, before, after), $"{key}.{field} should replace {name}");
        Assert.Equal(await ValueAsync<string>(first.Outputs["migrationJobName"]), await ValueAsync<string>(changed.Outputs["migrationJobName"]));
        if (type == StatefulSetType)
        {
            // The claim the StatefulSet made outlives it, and the new one mounts it as it is.
            Assert.Equal("Retain", after.Str("spec.persistentVolumeClaimRetentionPolicy.whenDeleted"));
        }
    }

    [Fact]
    public async Task NewReplicaCounts_KeepTheMigrationRun()
    {
        var first = await ProgramAsync(StackConfig.Prod);
        var scaled = await first.UpdateAsync(StackConfig.Prod.WithField("web", "replicas", 5).WithField("worker", "replicas", 3));

        var jobName = await ValueAsync<string>(first.Outputs["migrationJobName"]);
        Assert.Equal(jobName, await ValueAsync<string>(scaled.Outputs["migrationJobName"]));
        Assert.Equal(5, scaled.Deployment("web").Inputs.At("spec.replicas")!.GetValue<double>());
        Assert.All(GatedPodSpecs(scaled), p => Assert.Equal(jobName, WaitedForJob(p.Spec)));
    }

    [Fact]
    public async Task NewAppEnvironment_StartsANewMigrationRunUnderIt()
    {
        var first = await ProgramAsync(StackConfig.Prod);
        var changed = await first.UpdateAsync(StackConfig.Prod.WithField("env", "MAIL_SERVER", "smtp.example.org"));

        Assert.NotEqual(await ValueAsync<string>(first.Outputs["migrationJobName"]), await ValueAsync<string>(changed.Outputs["migrationJobName"]));
        var environment = changed.OfType(ConfigMapType).Single(c => c.Name == "piefed-config-env").Inputs;
        Assert.Equal("smtp.example.org", environment.Str("data.MAIL_SERVER"));
        Assert.Equal(
            await ValueAsync<string>(changed.Outputs["migrationJobName"]),
            Assert.Single(GatedPodSpecs(changed).Select(p => WaitedForJob(p.Spec)).Distinct()));
    }

    [Fact]
    public async Task Preview_WithUnknownOutputs_CompletesWithoutError()
    {
        var mocks = new RecordingMocks(unknownAutoNames: true);

        var run = await ProgramAsync(StackConfig.Prod, isPreview: true, mocks: mocks);

        Assert.False(await Pulumi.Utilities.OutputUtilities.GetIsKnownAsync((Pulumi.Output<string>)run.Outputs["migrationJobName"]!));
        Assert.Equal(["piefed-notifications", "piefed-web", "piefed-worker"], run.OfType(DeploymentType).Select(d => d.Name).Order());
    }

    internal static IEnumerable<(string Owner, JsonNode Spec)> PodSpecs(StackRun run)
        => run.OfType(DeploymentType).Concat(run.OfType(JobType))
            .Select(r => (r.Name, r.Inputs.At("spec.template.spec")!));

    /// <summary>The pods that must wait for the migration: every Deployment and CronJob but the ungated ones.</summary>
    internal static IEnumerable<(string Owner, JsonNode Spec)> GatedPodSpecs(StackRun run)
        => run.OfType(DeploymentType).Select(d => (d.Name, d.Inputs.At("spec.template.spec")!))
            .Concat(run.OfType(CronJobType).Select(c => (c.Name, c.Inputs.At("spec.jobTemplate.spec.template.spec")!)))
            .Where(p => !ProductionReadinessTests.Ungated.Contains(p.Name));

    private static string? WaitedForJob(JsonNode podSpec)
        => podSpec.Objects("initContainers").SingleOrDefault(c => c.Str("name") == "wait-for-migrations")?.Objects("env").Single(e => e.Str("name") == "JOB_NAME").Str("value");

    internal static IEnumerable<JsonObject> Containers(JsonNode podSpec)
        => podSpec.Objects("initContainers").Concat(podSpec.Objects("containers"));

    /// <summary>The pod's first container; a web pod's community-search refresh comes after gunicorn.</summary>
    private static JsonObject MainContainer(StackRun run, string component)
        => run.Deployment(component).Inputs.Objects("spec.template.spec.containers").First(c => c.Str("name") == component);

    private static string[] Strings(JsonNode node, string path) => [.. node.Array(path).Select(n => n!.GetValue<string>())];

    private static Dictionary<string, string> Labels(JsonNode? labels)
        => labels?.AsObject().ToDictionary(l => l.Key, l => l.Value!.GetValue<string>()) ?? [];

    /// <summary>The terms of an equality-based label selector, key=value joined by commas, as the API server reads it.</summary>
    private static List<KeyValuePair<string, string>> SelectorTerms(string selector)
        => [.. selector.Split(',').Select(term => term.Split('=')).Select(parts =>
        {
            Assert.True(parts.Length == 2 && parts[0].Length > 0, $"{selector} is not key=value terms joined by commas.");
            return KeyValuePair.Create(parts[0], parts[1]);
        })];

    private static bool Selects(string selector, Dictionary<string, string> labels)
        => SelectorTerms(selector).All(term => labels.GetValueOrDefault(term.Key) == term.Value);

}
