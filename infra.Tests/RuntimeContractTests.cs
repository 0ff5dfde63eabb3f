using System.Text.Json.Nodes;
using PieFed.Infra.Components;
using PieFed.Infra.Tests.Support;
using Pulumi;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>What the program sends to the cluster where it meets PieFed's runtime: the administrator, rollouts, replica ownership, the refresh's budget.</summary>
public sealed class RuntimeContractTests
{
    private const string HorizontalPodAutoscalerType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";

    [Fact]
    public async Task AdminPassword_OnlyTheMigrationReadsItAndTheStackShowsItAsASecret()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("admin", "userName", "site_admin").WithField("admin", "email", "ops@example.org"));

        var adminSecret = Assert.Single(run.OfType(SecretType), s => s.Name == "piefed-config-admin");
        Assert.Equal("generated-password-of-piefed-config-admin-password", adminSecret.Inputs.Str("stringData.password"));
        var env = run.Single(JobType).Inputs.Objects("spec.template.spec.containers[0].env").ToDictionary(e => e.Str("name")!);
        Assert.Equal("site_admin", env[DatabaseMigration.AdminUserNameVariable].Str("value"));
        Assert.Equal("ops@example.org", env[DatabaseMigration.AdminEmailVariable].Str("value"));
        var reference = env[DatabaseMigration.AdminPasswordVariable].At("valueFrom.secretKeyRef")!;
        Assert.StartsWith("piefed-config-admin-", reference.Str("name"), StringComparison.Ordinal);
        Assert.Equal("password", reference.Str("key"));
        Assert.False(reference.At("optional")!.GetValue<bool>());

        // No other pod may read it: it is in no Secret they load and no variable they have.
        var jobName = run.Single(JobType).Name;
        foreach (var (owner, pod) in ProductionReadinessTests.Pods(run).Where(p => p.Owner != jobName))
        {
            Assert.DoesNotContain("piefed-config-admin-", pod.ToJsonString(), StringComparison.Ordinal);
            Assert.DoesNotContain(DatabaseMigration.AdminPasswordVariable, pod.ToJsonString(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain("generated-password-of-piefed-config-admin-password", run.AppSecret().ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("site_admin", await ValueAsync<string>(run.Outputs["adminUserName"]));
        Assert.Equal("generated-password-of-piefed-config-admin-password", await ValueAsync<string>(run.Outputs["adminPassword"]));
        Assert.True(await Output.IsSecretAsync((Output<string>)run.Outputs["adminPassword"]!));
    }

    [Fact]
    public async Task AdminDefaults_AreAUserNamePieFedAcceptsAndAnAddressOnTheInstancesDomain()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("admin", null));

        var env = run.Single(JobType).Inputs.Objects("spec.template.spec.containers[0].env").ToDictionary(e => e.Str("name")!);
        Assert.Equal("piefed_admin", env[DatabaseMigration.AdminUserNameVariable].Str("value"));
        Assert.Equal("admin@piefed.example.org", env[DatabaseMigration.AdminEmailVariable].Str("value"));
    }

    [Fact]
    public async Task AdminPassword_WithAnExistingSecret_IsReadFromItAndMayBeGoneAfterTheFirstInstall()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("existingSecret", "piefed-app-secrets").With("database", null).With("redis", null).With("databasePassword", null));

        Assert.Empty(run.OfType(SecretType));
        Assert.Empty(run.OfType(RecordingMocks.RandomPasswordType));
        var reference = run.Single(JobType).Inputs.Objects("spec.template.spec.containers[0].env")
            .Single(e => e.Str("name") == DatabaseMigration.AdminPasswordVariable).At("valueFrom.secretKeyRef")!;
        Assert.Equal("piefed-app-secrets", reference.Str("name"));
        Assert.Equal("PIEFED_ADMIN_PASSWORD", reference.Str("key"));
        Assert.True(reference.At("optional")!.GetValue<bool>());
    }

    [Theory]
    [InlineData("web")]
    [InlineData("notifications")]
    public async Task Rollouts_PauseBeforeTheServerStopsAndNeverGoBelowTheDesiredCount(string component)
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var spec = run.Deployment(component).Inputs.At("spec")!;
        var container = spec.At("template.spec.containers[0]")!;
        Assert.Equal(["sleep", "15"], container.Array("lifecycle.preStop.exec.command").Select(c => c!.GetValue<string>()));
        var command = container.Array("command").Select(c => c!.GetValue<string>()).ToList();
        var gracefulFlag = component == "web" ? "--graceful-timeout" : "--timeout-graceful-shutdown";
        var graceful = double.Parse(command[command.IndexOf(gracefulFlag) + 1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Number(spec, "template.spec.terminationGracePeriodSeconds") > 15 + graceful,
            $"the kubelet would kill {component} before its pause ({15} s) and its own graceful shutdown ({graceful} s) are over");
        Assert.Equal(0, Number(spec, "strategy.rollingUpdate.maxUnavailable"));
    }

    [Fact]
    public async Task Replicas_AcrossSwitchingTheAutoscalerOnAndOff_AreAlwaysSentAndOwnedByWhoeverScales()
    {
        var autoscaled = new { replicas = 4, autoscaling = new { enabled = true, minReplicas = 2, maxReplicas = 10 } };
        var steps = new[]
        {
            (Config: StackConfig.Prod.WithField("web", "replicas", 4), Autoscaled: false),
            (Config: StackConfig.Prod.With("web", autoscaled), Autoscaled: true),
            (Config: StackConfig.Prod.WithField("web", "replicas", 4), Autoscaled: false),
        };

        foreach (var (config, isAutoscaled) in steps)
        {
            var run = await ProgramAsync(config);
            var ignored = await IgnoredChangesAsync(config, "piefed-web");
            var deployment = run.Deployment("web").Inputs;

            // Never omitted: under server-side apply an omitted field that Pulumi owned is removed, and defaults to 1.
            Assert.NotNull(deployment.At("spec.replicas"));
            Assert.Equal("true", deployment.Str("metadata.annotations['pulumi.com/patchForce']"));
            if (isAutoscaled)
            {
                // A new Deployment starts at the minimum; an existing one keeps the live count (ignoreChanges).
                Assert.Equal(2, Number(deployment, "spec.replicas"));
                Assert.Equal(["spec.replicas"], ignored);
                Assert.Single(run.OfType(HorizontalPodAutoscalerType));
            }
            else
            {
                Assert.Equal(4, Number(deployment, "spec.replicas"));
                Assert.Empty(ignored);
                Assert.Empty(run.OfType(HorizontalPodAutoscalerType));
            }
        }
    }

    [Fact]
    public async Task DatabaseCa_IsMountedReadOnlyInEveryContainerThatCarriesTheDatabaseUrl()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("database", "sslMode", "verify-ca").WithField("database", "caSecret", "postgres-ca"));

        var checkedContainers = new List<string>();
        foreach (var (owner, pod) in ProductionReadinessTests.Pods(run))
        {
            foreach (var container in pod.Objects("containers").Where(c => c.Objects("envFrom").Any(e => e.At("secretRef") is not null)))
            {
                var mount = Assert.Single(container.Objects("volumeMounts"), m => m.Str("name") == DatabaseCa.VolumeName);
                Assert.Equal("/etc/piefed/postgres-ca", mount.Str("mountPath"));
                Assert.True(mount.At("readOnly")!.GetValue<bool>());
                var volume = Assert.Single(pod.Objects("volumes"), v => v.Str("name") == DatabaseCa.VolumeName);
                Assert.Equal("postgres-ca", volume.Str("secret.secretName"));
                Assert.Equal("ca.crt", volume.Str("secret.items[0].key"));
                checkedContainers.Add($"{owner}/{container.Str("name")}");
            }
        }

        Assert.Contains(checkedContainers, c => c.StartsWith("piefed-db-init", StringComparison.Ordinal));
        Assert.Contains("piefed-web/web", checkedContainers);
        Assert.Contains("piefed-web/community-search", checkedContainers);
        Assert.Contains("piefed-worker/worker", checkedContainers);
        Assert.Contains(checkedContainers, c => c.EndsWith("/db-backup", StringComparison.Ordinal));
        Assert.Contains(checkedContainers, c => c.EndsWith("/db-restore", StringComparison.Ordinal));
        Assert.Contains(checkedContainers, c => c.EndsWith("/send-queue", StringComparison.Ordinal));
        Assert.EndsWith("?sslmode=verify-ca&sslrootcert=/etc/piefed/postgres-ca/ca.crt",
            run.AppSecret().Str("stringData.DATABASE_URL"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migration_WaitsSecondsForALockAndRetriesForAQuarterOfItsDeadline()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("migration", "timeoutMinutes", 20).WithField("migration", "lockTimeoutSeconds", 3));

        var env = run.Single(JobType).Inputs.Objects("spec.template.spec.containers[0].env").ToDictionary(e => e.Str("name")!, e => e.Str("value"));
        Assert.Equal("3", env["DB_INIT_LOCK_TIMEOUT_SECONDS"]);
        Assert.Equal("300", env["DB_INIT_LOCK_RETRY_SECONDS"]);
        Assert.Equal(1200 + 1800, Number(run.Single(JobType).Inputs, "spec.activeDeadlineSeconds"));
    }

    [Theory]
    [InlineData(true, 900 + 2700)]
    [InlineData(false, 900)]
    public async Task DumpBeforeMigration_HasItsOwnBudgetAddedToTheJobsDeadlineAndToWhatPodsWait(bool beforeMigration, int deadline)
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("backup", "timeoutMinutes", 45).WithField("backup", "beforeMigration", beforeMigration));

        var job = run.Single(JobType).Inputs;
        var env = job.Objects("spec.template.spec.containers[0].env").ToDictionary(e => e.Str("name")!, e => e.Str("value"));
        Assert.Equal(deadline, Number(job, "spec.activeDeadlineSeconds"));
        Assert.Equal($"{deadline}", job.Str("metadata.annotations['pulumi.com/timeoutSeconds']"));
        Assert.Equal(beforeMigration ? "2700" : null, env.GetValueOrDefault("DB_INIT_BACKUP_TIMEOUT_SECONDS"));
        // The migration's own waits are still shares of the migration's 15 minutes, never of the dump's.
        Assert.Equal("450", env["DB_INIT_DEPENDENCY_TIMEOUT_SECONDS"]);
        var waiter = run.Deployment("web").Inputs.Objects("spec.template.spec.initContainers[0].env").Single(e => e.Str("name") == "WAIT_TIMEOUT_SECONDS");
        Assert.Equal($"{deadline}", waiter.Str("value"));
    }

    [Fact]
    public async Task ScheduledBackupAndRestore_HaveDeadlinesOfTheirOwn()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("backup", "timeoutMinutes", 90).WithField("backup", "restoreTimeoutMinutes", 240));

        var backup = Assert.Single(run.OfType(CronJobType), c => c.Inputs.Str("metadata.name") == "piefed-db-backup").Inputs;
        var restore = Assert.Single(run.OfType(CronJobType), c => c.Inputs.Str("metadata.name") == "piefed-db-restore").Inputs;
        Assert.Equal(300 + 5400, Number(backup, "spec.jobTemplate.spec.activeDeadlineSeconds"));
        Assert.Equal("5400", backup.Objects("spec.jobTemplate.spec.template.spec.containers[0].env").Single(e => e.Str("name") == "DB_INIT_BACKUP_TIMEOUT_SECONDS").Str("value"));
        // The wait for PostgreSQL and the lock, for the stopped app's sessions (the worker's 300 s grace and a minute), then the restore's own budget.
        Assert.Equal(300 + 360 + 14400, Number(restore, "spec.jobTemplate.spec.activeDeadlineSeconds"));
        Assert.Equal("360", restore.Objects("spec.jobTemplate.spec.template.spec.containers[0].env").Single(e => e.Str("name") == "DB_RESTORE_SESSIONS_WAIT_SECONDS").Str("value"));
        // The 300 s the deadlines count on is what each run is told to wait, not a default it may change.
        Assert.All([backup, restore], cronJob => Assert.Equal("300",
            cronJob.Objects("spec.jobTemplate.spec.template.spec.containers[0].env").Single(e => e.Str("name") == "DB_INIT_DEPENDENCY_TIMEOUT_SECONDS").Str("value")));
    }

    [Fact]
    public async Task CommunitySearch_RequestsWhatAFlaskCommandWasMeasuredToUse()
    {
        // Any `flask` command of v1.7.7 boots the whole app: 250-350 MiB of working set, measured.
        const double measuredPeakMebibytes = 350;
        var run = await ProgramAsync(StackConfig.Prod);

        var sidecar = run.Deployment("web").Inputs.Objects("spec.template.spec.containers").Single(c => c.Str("name") == "community-search");
        Assert.True(Mebibytes(sidecar.Str("resources.requests.memory")!) >= measuredPeakMebibytes);
        Assert.True(Mebibytes(sidecar.Str("resources.limits.memory")!) > measuredPeakMebibytes);
    }

    private static async Task<string[]> IgnoredChangesAsync(StackConfig config, string resourceName)
    {
        var ignored = new List<string>();
        await ObserveOptionsAsync(config, args =>
        {
            if (args.Resource.GetResourceType() == DeploymentType && args.Resource.GetResourceName() == resourceName)
            {
                ignored.AddRange(args.Options.IgnoreChanges);
            }
        });
        return [.. ignored];
    }

    private static double Mebibytes(string quantity)
        => quantity.EndsWith("Gi", StringComparison.Ordinal) ? 1024 * double.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture)
            : double.Parse(quantity.TrimEnd('M', 'i'), System.Globalization.CultureInfo.InvariantCulture);

    private static double Number(JsonNode node, string path) => node.At(path)!.GetValue<double>();
}
