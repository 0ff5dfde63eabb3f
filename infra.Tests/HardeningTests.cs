using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>Secrets that stay secret, generated secrets that never rotate by accident, the right cluster, and probes that do not kill a slow pod.</summary>
public sealed class HardeningTests
{
    private const string RedisPassword = "redis-password-7f1c";
    private const string SecretKey = "configured-secret-key-5b2e-0123456789abcdef";
    private const string MailPassword = "mail-password-93d0";
    private const string SentryDsn = "https://sentry-key-41aa@sentry.example.org/7";
    private const string S3AccessKey = "AKIA-ACCESS-KEY-2c6b";
    private const string S3AccessSecret = "s3-access-secret-8e19";

    private static StackConfig ProdWithEverySecret => StackConfig.Prod
        .With("redisPassword", RedisPassword)
        .With("secretKey", SecretKey)
        .WithField("secretEnv", "MAIL_PASSWORD", MailPassword)
        .WithField("secretEnv", "SENTRY_DSN", SentryDsn)
        .WithField("media", "storage", "s3")
        .WithField("media", "s3.region", "eu-central-1")
        .WithField("media", "s3.bucket", "piefed-media")
        .With("s3AccessKey", S3AccessKey)
        .With("s3AccessSecret", S3AccessSecret);

    [Fact]
    public async Task EverySecretValue_AppearsInTheAppSecretAndNowhereElse()
    {
        var run = await ProgramAsync(ProdWithEverySecret);

        string[] secrets = [StackConfig.DatabasePassword, RedisPassword, SecretKey, MailPassword, SentryDsn, S3AccessKey, S3AccessSecret];
        var forms = secrets.SelectMany(s => new[] { s, Uri.EscapeDataString(s) }).Distinct().ToList();
        foreach (var registration in run.Registrations.Where(r => r.Type != SecretType))
        {
            var text = registration.Inputs.ToJsonString(Json.Unescaped);
            Assert.All(forms, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        }

        var outputs = string.Join('\n', await Task.WhenAll(run.Outputs.Values.Select(async v => v is string s ? s : await ValueAsync<string>(v))));
        Assert.All(forms, secret => Assert.DoesNotContain(secret, outputs, StringComparison.Ordinal));
        var appSecret = StackInventoryTests.Secrets(run);
        Assert.Equal(MailPassword, appSecret["MAIL_PASSWORD"]);
        Assert.Equal(SentryDsn, appSecret["SENTRY_DSN"]);
        Assert.DoesNotContain("MAIL_PASSWORD", StackInventoryTests.Environment(run).Keys);
    }

    [Fact]
    public async Task GeneratedSecrets_KeepTheirInputsWhateverElseChanges()
    {
        var baseline = GeneratedSecrets(await ProgramAsync(StackConfig.Dev));
        Assert.Equal(["piefed-config-admin-password", "piefed-config-secret-key", "piefed-postgres-password", "piefed-redis-password"], baseline.Keys.Order());

        StackConfig[] changes =
        [
            StackConfig.Dev.WithField("image", "tag", "v1.7.8"),
            StackConfig.Dev.WithField("web", "replicas", 3).WithField("worker", "concurrency", 8),
            StackConfig.Dev.WithField("worker", "resources.requests.memory", "512Mi"),
            StackConfig.Dev.WithField("migration", "timeoutMinutes", 30).WithField("migration", "resources.limits.memory", "2Gi"),
            StackConfig.Dev.WithField("env", "MAIL_SERVER", "smtp.example.org").WithField("secretEnv", "MAIL_PASSWORD", MailPassword),
            StackConfig.Dev.WithField("cron", "sendQueue", "*/5 * * * *").WithField("backup", "schedule", "disabled"),
            StackConfig.Dev.WithField("media", "size", "20Gi").WithField("bundledServices", "storageSize", "10Gi"),
            StackConfig.Dev.WithField("ingress", "enabled", true).With("protectData", "true"),
            StackConfig.Dev.With("namespace", "piefed-staging").With("serverName", "staging.piefed.example.org"),
        ];
        foreach (var change in changes)
        {
            Assert.Equal(baseline, GeneratedSecrets(await ProgramAsync(change)));
        }
    }

    [Fact]
    public async Task Production_DeploysToItsOwnContextAndShowsIt()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("kubernetes:kubeconfig", "/etc/piefed/kubeconfig"));

        var provider = Assert.Single(run.OfType("pulumi:providers:kubernetes")).Inputs;
        Assert.Equal("piefed-prod", provider.Str("context"));
        Assert.Equal("/etc/piefed/kubeconfig", provider.Str("kubeconfig"));
        Assert.Equal("piefed-prod", run.Outputs["kubernetesContext"]);
        Assert.DoesNotContain(run.Outputs.Values.OfType<string>(), v => v.Contains("kubeconfig", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RenderMode_NeedsNoContext()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("kubernetes:context", null)
            .WithField("render", "directory", "rendered").WithField("render", "allowPlaintextSecrets", true));

        Assert.Null(Assert.Single(run.OfType("pulumi:providers:kubernetes")).Inputs.Str("context"));
        Assert.Equal("(none: render mode writes YAML)", run.Outputs["kubernetesContext"]);
    }

    [Fact]
    public async Task Web_LivenessIsStrictlyMoreTolerantThanReadinessAndShutdownOutlastsGunicorn()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var pod = run.Deployment("web").Inputs.At("spec.template.spec")!;
        var readiness = pod.At("containers[0].readinessProbe")!;
        var liveness = pod.At("containers[0].livenessProbe")!;
        Assert.True(Tolerance(liveness) > 2 * Tolerance(readiness), $"liveness gives up after {Tolerance(liveness)} s, readiness after {Tolerance(readiness)} s");
        Assert.True(Number(liveness, "timeoutSeconds") > Number(readiness, "timeoutSeconds"));
        var command = pod.Array("containers[0].command").Select(c => c!.GetValue<string>()).ToList();
        var graceful = double.Parse(command[command.IndexOf("--graceful-timeout") + 1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Number(pod, "terminationGracePeriodSeconds") > graceful);
    }

    [Fact]
    public async Task MigrationResources_AreTheJobsOwnAndResizingWorkersLeavesTheJobAlone()
    {
        var before = await ProgramAsync(StackConfig.Prod, mocks: new RecordingMocks());
        var resized = await before.UpdateAsync(StackConfig.Prod.WithField("worker", "resources.limits.memory", "3Gi").WithField("worker", "resources.requests.cpu", "1"));
        var migrationResized = await before.UpdateAsync(StackConfig.Prod.WithField("migration", "resources.limits.memory", "2Gi"));

        var job = before.Single(JobType).Inputs;
        Assert.Equal("512Mi", job.Str("spec.template.spec.containers[0].resources.requests.memory"));
        Assert.Equal(job.ToJsonString(), resized.Single(JobType).Inputs.ToJsonString());
        Assert.Equal(await ValueAsync<string>(before.Outputs["migrationJobName"]), await ValueAsync<string>(resized.Outputs["migrationJobName"]));
        Assert.Equal("2Gi", migrationResized.Single(JobType).Inputs.Str("spec.template.spec.containers[0].resources.limits.memory"));
        Assert.NotEqual(await ValueAsync<string>(before.Outputs["migrationJobName"]), await ValueAsync<string>(migrationResized.Outputs["migrationJobName"]));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public async Task EveryPod_ChangesVolumeOwnershipOnlyWhenTheRootDiffers(string stack)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        var pods = ProductionReadinessTests.Pods(run).ToList();
        Assert.NotEmpty(pods);
        Assert.All(pods, p => Assert.Equal("OnRootMismatch", p.Spec.Str("securityContext.fsGroupChangePolicy")));
    }

    private static Dictionary<string, string> GeneratedSecrets(StackRun run)
        => run.OfType(RecordingMocks.RandomPasswordType).ToDictionary(r => r.Name, r => r.Inputs.ToJsonString());

    private static double Tolerance(JsonNode probe) => Number(probe, "periodSeconds") * Number(probe, "failureThreshold");

    private static double Number(JsonNode node, string path) => node.At(path)!.GetValue<double>();
}
