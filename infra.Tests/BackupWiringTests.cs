using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>The backup volume, the dump before a migration, the scheduled backup and the restore's template, as the program declares them.</summary>
public sealed class BackupWiringTests
{
    private const string BackupPath = "/var/backups/piefed";

    [Fact]
    public async Task Prod_TheJobDumpsToTheBackupClaimBeforeMigrating()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var claim = run.Claim("piefed-backups").Inputs;
        Assert.Equal("ReadWriteOnce", claim.Str("spec.accessModes[0]"));
        Assert.Equal("10Gi", claim.Str("spec.resources.requests.storage"));
        var job = run.Single(JobType).Inputs.At("spec.template.spec")!;
        AssertWritesBackups(job, keep: "7");
    }

    [Fact]
    public async Task Dev_DoesNotDumpBeforeMigratingUnlessAsked()
    {
        var dev = await ProgramAsync(StackConfig.Dev);
        var asked = await ProgramAsync(StackConfig.Dev.WithField("backup", "beforeMigration", true).WithField("backup", "keep", 3));

        var job = dev.Single(JobType).Inputs.At("spec.template.spec")!;
        Assert.DoesNotContain(job.Objects("volumes"), v => v.Str("name") == "backups");
        Assert.DoesNotContain(Env(job), e => e.Key.StartsWith("DB_INIT_BACKUP", StringComparison.Ordinal));
        AssertWritesBackups(asked.Single(JobType).Inputs.At("spec.template.spec")!, keep: "3");
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task ScheduledBackup_RunsDailyByDefaultGatedWithoutMedia(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var cronJob = CronJob(run, "piefed-db-backup");
        Assert.Equal("30 3 * * *", cronJob.Str("spec.schedule"));
        Assert.Equal("Forbid", cronJob.Str("spec.concurrencyPolicy"));
        var pod = cronJob.At("spec.jobTemplate.spec.template.spec")!;
        Assert.Equal(["python3", "/opt/piefed-migration/db_init.py", "backup"], Strings(pod, "containers[0].command"));
        Assert.Equal("wait-for-migrations", Assert.Single(pod.Objects("initContainers")).Str("name"));
        Assert.DoesNotContain(pod.Objects("volumes"), v => v.Str("name") == "media");
        AssertWritesBackups(pod, keep: "7");
    }

    [Fact]
    public async Task RestoreTemplate_NeverRunsByItselfAndDoesNotWaitForTheMigration()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var cronJob = CronJob(run, "piefed-db-restore");
        Assert.True(cronJob.At("spec.suspend")!.GetValue<bool>());
        Assert.Equal("0 0 31 2 *", cronJob.Str("spec.schedule"));
        var pod = cronJob.At("spec.jobTemplate.spec.template.spec")!;
        Assert.Equal(["python3", "/opt/piefed-migration/db_init.py", "restore"], Strings(pod, "containers[0].command"));
        Assert.Empty(pod.Objects("initContainers"));
        Assert.False(pod.At("automountServiceAccountToken")!.GetValue<bool>());
        Assert.Null(pod.At("serviceAccountName"));
        AssertWritesBackups(pod, keep: "7");
    }

    [Fact]
    public async Task ScheduleDisabled_KeepsTheClaimAndTheRestoreForTheDumpsBeforeMigrations()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("backup", "schedule", "disabled"));

        run.Claim("piefed-backups");
        Assert.DoesNotContain(run.OfType(CronJobType), c => c.Inputs.Str("metadata.name") == "piefed-db-backup");
        CronJob(run, "piefed-db-restore");
    }

    [Fact]
    public async Task NoBackupsAtAll_RegistersNoClaimNoScheduleAndNoRestore()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("backup", "schedule", "disabled").WithField("backup", "beforeMigration", false));

        Assert.DoesNotContain(run.OfType(PersistentVolumeClaimType), c => c.Name == "piefed-backups");
        Assert.Empty(run.OfType("piefed:data:DatabaseBackups"));
        Assert.DoesNotContain(run.OfType(CronJobType), c => c.Inputs.Str("metadata.name")!.StartsWith("piefed-db-", StringComparison.Ordinal));
        Assert.DoesNotContain(Env(run.Single(JobType).Inputs.At("spec.template.spec")!), e => e.Key.StartsWith("DB_INIT_BACKUP", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BackupSettings_ReachTheClaim()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("backup", "size", "40Gi").WithField("backup", "storageClass", "backup-hdd"));

        var claim = run.Claim("piefed-backups").Inputs;
        Assert.Equal("40Gi", claim.Str("spec.resources.requests.storage"));
        Assert.Equal("backup-hdd", claim.Str("spec.storageClassName"));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task EveryPieFedContainer_ReadsFlaskAppFromTheEnvironmentConfigMap(string stack)
    {
        // Upstream's entrypoints export FLASK_APP=pyfedi.py; every container here replaces them.
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        Assert.Equal("pyfedi.py", StackInventoryTests.Environment(run)["FLASK_APP"]);
        var pieFedContainers = ProductionReadinessTests.Pods(run)
            .SelectMany(p => p.Spec.Objects("containers"))
            .Where(c => c.Str("image")!.Contains("pyfedi", StringComparison.Ordinal))
            .ToList();
        Assert.True(pieFedContainers.Count >= 9, $"Only {pieFedContainers.Count} PieFed containers were found.");
        Assert.All(pieFedContainers, c => Assert.StartsWith(
            "piefed-config-env-",
            c.Objects("envFrom").Single(e => e.At("configMapRef") is not null).Str("configMapRef.name"),
            StringComparison.Ordinal));
    }

    private static void AssertWritesBackups(JsonNode pod, string keep)
    {
        Assert.Equal("piefed-backups", pod.Objects("volumes").Single(v => v.Str("name") == "backups").Str("persistentVolumeClaim.claimName"));
        Assert.Contains(pod.Objects("containers[0].volumeMounts"), m => m.Str("name") == "backups" && m.Str("mountPath") == BackupPath);
        var env = Env(pod);
        Assert.Equal(BackupPath, env["DB_INIT_BACKUP_DIRECTORY"]);
        Assert.Equal(keep, env["DB_INIT_BACKUP_KEEP"]);
    }

    private static Dictionary<string, string?> Env(JsonNode pod)
        => pod.Objects("containers[0].env").ToDictionary(e => e.Str("name")!, e => e.Str("value"));

    private static JsonObject CronJob(StackRun run, string name)
        => Assert.Single(run.OfType(CronJobType), c => c.Inputs.Str("metadata.name") == name).Inputs;

    private static string[] Strings(JsonNode node, string path) => [.. node.Array(path).Select(n => n!.GetValue<string>())];
}
