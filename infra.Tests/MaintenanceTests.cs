using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>
/// Maintenance mode and the declared restore (docs/operations.md, "Maintenance", "Restoring a
/// backup" and "Undoing an upgrade"), as the program declares them. Each step is an update of the
/// same stack: it runs on the state the previous one left, as <c>pulumi up</c> does, so an object
/// keeps its generated name unless the Kubernetes provider would replace it. What a field does in
/// a cluster is Kubernetes', KEDA's and pulumi-kubernetes' behaviour, cited where it is relied on
/// (PieFedDeployment.HoldAtZero, WorkloadAutoscaler); no API server runs here.
/// </summary>
public sealed class MaintenanceTests
{
    private const string DeploymentPatchType = "kubernetes:apps/v1:DeploymentPatch";
    private const string HorizontalPodAutoscalerType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
    private const string ScaledObjectType = "kubernetes:keda.sh/v1alpha1:ScaledObject";

    private static readonly StackConfig Autoscaled = StackConfig.Prod
        .With("redisPassword", "queue-password-5d1e")
        .With("web", new { replicas = 2, autoscaling = new { enabled = true, minReplicas = 2, maxReplicas = 8 } })
        .With("worker", new { replicas = 2, autoscaling = new { enabled = true, minReplicas = 1, maxReplicas = 10, keda = true } });

    [Fact]
    public async Task Maintenance_StopsEveryWriterAndChangesNothingElse()
    {
        var before = await ProgramAsync(StackConfig.Prod);

        var during = await before.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", true));

        var cronJobs = before.OfType(CronJobType).Select(c => c.Inputs.Str("metadata.name")!).Where(n => n != "piefed-db-restore").ToList();
        Assert.Equal(7, cronJobs.Count); // upstream's six scheduled commands and the scheduled backup
        string[] expected =
        [
            "piefed-notifications:spec.replicas 1 -> 0",
            "piefed-web:spec.replicas 2 -> 0",
            "piefed-worker:spec.replicas 2 -> 0",
            .. before.OfType(CronJobType).Where(c => cronJobs.Contains(c.Inputs.Str("metadata.name")!)).Select(c => $"{c.Name}:spec.suspend (none) -> true"),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), Differences(before, during).Order(StringComparer.Ordinal));
        // The migration Job is the same object, so a stop-the-world upgrade (next test) still migrates.
        Assert.Equal(before.Single(JobType).Inputs.ToJsonString(), during.Single(JobType).Inputs.ToJsonString());
    }

    [Fact]
    public async Task Maintenance_TurnedOffAgain_DeclaresExactlyTheStateItStoppedAndNoMore()
    {
        var before = await ProgramAsync(StackConfig.Prod);
        var during = await before.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", true));

        var after = await during.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", false));

        Assert.Empty(Differences(before, after));
    }

    [Fact]
    public async Task Maintenance_WithAutoscalers_HoldsTheDeploymentsAtZeroWithoutTouchingWhatTheAutoscalersOwn()
    {
        var before = await ProgramAsync(Autoscaled);

        var during = await before.UpdateAsync(Autoscaled.WithField("maintenance", "enabled", true));

        // The Deployments' own inputs stay as they were: their replicas are ignoreChanges, whose old
        // value would outlive maintenance. A patch of their own holds them at 0 instead, with force.
        Assert.Equal(before.Deployment("web").Inputs.ToJsonString(), during.Deployment("web").Inputs.ToJsonString());
        Assert.Equal(before.Deployment("worker").Inputs.ToJsonString(), during.Deployment("worker").Inputs.ToJsonString());
        var patches = during.OfType(DeploymentPatchType).ToList();
        Assert.Equal(["piefed-web", "piefed-worker"], patches.Select(p => p.Inputs.Str("metadata.name")!).Order());
        Assert.All(patches, patch =>
        {
            Assert.Equal(0, Number(patch.Inputs, "spec.replicas"));
            Assert.Equal("true", patch.Inputs.Str("metadata.annotations['pulumi.com/patchForce']"));
            Assert.Equal(["metadata", "spec"], patch.Inputs.AsObject().Select(p => p.Key).Where(k => k is not ("apiVersion" or "kind")).Order());
            Assert.Equal(["replicas"], patch.Inputs.At("spec")!.AsObject().Select(p => p.Key));
        });
        // A HorizontalPodAutoscaler leaves a Deployment at 0 alone; KEDA would scale it back unless paused.
        Assert.Equal(before.Single(HorizontalPodAutoscalerType).Inputs.ToJsonString(), during.Single(HorizontalPodAutoscalerType).Inputs.ToJsonString());
        Assert.Equal("0", during.Single(ScaledObjectType).Inputs.Str("metadata.annotations['autoscaling.keda.sh/paused-replicas']"));

        var after = await during.UpdateAsync(Autoscaled);
        Assert.Empty(after.OfType(DeploymentPatchType));
        Assert.Empty(Differences(before, after));
    }

    [Fact]
    public async Task StopTheWorldUpgrade_MigratesWhileNothingRuns()
    {
        var running = await ProgramAsync(StackConfig.Prod);
        var stopped = await running.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", true));

        var upgraded = await stopped.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("image", "tag", "v1.8.0"));

        var migration = upgraded.Single(JobType);
        Assert.NotEqual(MigrationJobName(stopped), MigrationJobName(upgraded));
        Assert.EndsWith(":v1.8.0", migration.Inputs.Str("spec.template.spec.containers[0].image"), StringComparison.Ordinal);
        Assert.All(upgraded.OfType(DeploymentType), d => Assert.Equal(0, Number(d.Inputs, "spec.replicas")));
        Assert.All(upgraded.OfType(CronJobType), c => Assert.True(c.Inputs.At("spec.suspend")!.GetValue<bool>()));
    }

    [Theory]
    [InlineData("newest", null)]
    [InlineData("piefed-20261201T033000Z-at-1a2b3c4d5e6f-before-9f8e7d6c5b4a.dump", "piefed-20261201T033000Z-at-1a2b3c4d5e6f-before-9f8e7d6c5b4a.dump")]
    public async Task DeclaredRestore_IsAJobOfThisReleasesImageThatNamesTheDumpAndWaitsForTheAppsSessions(string restore, string? restoreFile)
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", restore));

        var job = Assert.Single(run.OfType(JobType), j => j.Name == "piefed-db-restore").Inputs;
        var container = Assert.Single(job.Objects("spec.template.spec.containers"));
        Assert.Equal("codeberg.org/rimu/pyfedi:v1.7.7", container.Str("image"));
        Assert.Equal(["python3", "/opt/piefed-migration/db_init.py", "restore"], container.Array("command").Select(c => c!.GetValue<string>()));
        var environment = container.Objects("env").ToDictionary(e => e.Str("name")!, e => e.Str("value"));
        Assert.Equal(restoreFile, environment.GetValueOrDefault("DB_RESTORE_FILE"));
        // The worker's grace period (300 s by default) is the longest of the pods maintenance stops, and a minute more.
        Assert.Equal("360", environment["DB_RESTORE_SESSIONS_WAIT_SECONDS"]);
        Assert.Equal("300", environment["DB_INIT_DEPENDENCY_TIMEOUT_SECONDS"]);
        Assert.Equal(0, Number(job, "spec.backoffLimit"));
        // Waiting for the database and the lock, for the sessions, then the restore's own hour.
        Assert.Equal(300 + 360 + 3600, Number(job, "spec.activeDeadlineSeconds"));
        Assert.Equal("true", job.Str("metadata.annotations['pulumi.com/replaceUnready']"));
        Assert.Contains(job.Objects("spec.template.spec.volumes"), v => v.Str("persistentVolumeClaim.claimName") == "piefed-backups");
    }

    [Fact]
    public async Task UndoingAnUpgrade_AsTheManualSays_RestoresTheDumpWithTheOldImageBeforeItsMigration()
    {
        var oldRelease = await ProgramAsync(StackConfig.Prod);
        var newRelease = await oldRelease.UpdateAsync(StackConfig.Prod.WithField("image", "tag", "v1.8.0"));

        // 1. pulumi config set --path 'piefed:maintenance.enabled' true && pulumi up
        var stopped = await newRelease.UpdateAsync(StackConfig.Prod.WithField("image", "tag", "v1.8.0").WithField("maintenance", "enabled", true));
        Assert.DoesNotContain(stopped.OfType(JobType), j => j.Name == "piefed-db-restore");

        // 2. pulumi config set --path 'piefed:image.tag' v1.7.7 && pulumi config set --path 'piefed:maintenance.restore' newest && pulumi up
        var restored = await stopped.UpdateAsync(StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest"));
        var restore = Assert.Single(restored.OfType(JobType), j => j.Name == "piefed-db-restore").Inputs;
        Assert.EndsWith(":v1.7.7", restore.Str("spec.template.spec.containers[0].image"), StringComparison.Ordinal);
        var migration = Assert.Single(restored.OfType(JobType), j => j.Name == "piefed-db-init").Inputs;
        Assert.EndsWith(":v1.7.7", migration.Str("spec.template.spec.containers[0].image"), StringComparison.Ordinal);
        Assert.All(restored.OfType(DeploymentType), d => Assert.Equal(0, Number(d.Inputs, "spec.replicas")));

        // 3. pulumi config rm --path 'piefed:maintenance' && pulumi up
        var back = await restored.UpdateAsync(StackConfig.Prod);
        Assert.DoesNotContain(back.OfType(JobType), j => j.Name == "piefed-db-restore");
        Assert.Equal(
            oldRelease.Registrations.Select(r => (r.Type, r.Name)).Order(),
            back.Registrations.Select(r => (r.Type, r.Name)).Order());
        Assert.All(back.OfType(CronJobType).Where(c => c.Inputs.Str("metadata.name") != "piefed-db-restore"), c => Assert.Null(c.Inputs.At("spec.suspend")));
        Assert.Equal(2, Number(back.Deployment("web").Inputs, "spec.replicas"));
    }

    private static string MigrationJobName(StackRun run) => run.State.AutoNamed[(JobType, "piefed-db-init")].ObjectName;

    private static int Number(JsonNode node, string path) => (int)node.At(path)!.GetValue<double>();

    /// <summary>Every input that differs between two updates, as "resource:path old -> new", and every resource only one of them has.</summary>
    private static List<string> Differences(StackRun before, StackRun after)
    {
        var changes = new List<string>();
        var beforeByName = before.Registrations.ToDictionary(r => (r.Type, r.Name));
        var afterByName = after.Registrations.ToDictionary(r => (r.Type, r.Name));
        foreach (var key in beforeByName.Keys.Union(afterByName.Keys))
        {
            switch (beforeByName.GetValueOrDefault(key), afterByName.GetValueOrDefault(key))
            {
                case (null, _):
                    changes.Add($"{key.Name} ({key.Type}) added");
                    break;
                case (_, null):
                    changes.Add($"{key.Name} ({key.Type}) removed");
                    break;
                case var (old, @new):
                    Compare(old.Inputs, @new.Inputs, $"{key.Name}:", changes);
                    break;
            }
        }

        return changes;
    }

    private static void Compare(JsonNode? old, JsonNode? @new, string path, List<string> changes)
    {
        if (old is JsonObject oldObject && @new is JsonObject newObject)
        {
            foreach (var name in oldObject.Select(p => p.Key).Union(newObject.Select(p => p.Key)))
            {
                Compare(oldObject[name], newObject[name], path.EndsWith(':') ? path + name : $"{path}.{name}", changes);
            }
        }
        else if (!JsonNode.DeepEquals(old, @new))
        {
            changes.Add($"{path} {old?.ToJsonString() ?? "(none)"} -> {@new?.ToJsonString() ?? "(none)"}");
        }
    }
}
