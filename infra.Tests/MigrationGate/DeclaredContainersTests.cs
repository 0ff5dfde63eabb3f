using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests.MigrationGate;

/// <summary>
/// PieFed's containers exactly as the program declares them for the production stack (command,
/// working directory, the environment ConfigMap, the container's own variables, the scripts the
/// ConfigMap ships), run as processes in a <see cref="StandInImage"/> against the real PostgreSQL
/// and Redis. The cluster is stood in for where it cannot exist here: the Secret's keys point at the
/// test servers and the backup volume's mount path at a temporary directory.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DeclaredContainersTests : StandInInstanceTest
{
    private readonly string _backupVolume = Directory.CreateTempSubdirectory("piefed-backup-volume-").FullName;
    private StackRun? _run;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _run = await ProgramAsync(StackConfig.Prod);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_backupVolume, recursive: true);
    }

    [Fact]
    public async Task MigrationJob_AsDeclared_CompletesAFirstInstall()
    {
        var output = await RunAsync(_run!.Single(JobType).Inputs.At("spec.template.spec")!);

        Assert.Contains("STANDIN-SEED: inserted the site row", output, StringComparison.Ordinal);
        Assert.Equal(["PieFed"], await Database.QueryColumnAsync("SELECT name FROM site"));
    }

    [Fact]
    public async Task MigrationJob_AsDeclared_CreatesTheAdministratorOfTheStackOutputsAndLogsNoPassword()
    {
        var output = await RunAsync(_run!.Single(JobType).Inputs.At("spec.template.spec")!);

        var userName = await ValueAsync<string>(_run.Outputs["adminUserName"]);
        var password = await ValueAsync<string>(_run.Outputs["adminPassword"]);
        Assert.True(await Pulumi.Output.IsSecretAsync((Pulumi.Output<string>)_run.Outputs["adminPassword"]!), "the administrator's password must be a secret output");
        Assert.Equal(
            [$"{userName} Admin"],
            await Database.QueryColumnAsync("SELECT u.user_name || ' ' || r.name FROM \"user\" u JOIN user_role ur ON ur.user_id = u.id JOIN role r ON r.id = ur.role_id"));
        var hash = await Database.QueryAsync<string>($"SELECT password_hash FROM \"user\" WHERE user_name = '{userName}'");
        Assert.True(await PasswordHash.VerifiesAsync(hash, password, Image), "the stack output's password does not log the administrator in");
        Assert.DoesNotContain(password, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryScheduledTask_AsDeclared_IsACommandPieFedKnows()
    {
        await InstallAsync(Image);
        var tasks = _run!.OfType(CronJobType).Where(c => c.Inputs.Str("metadata.labels['app.kubernetes.io/component']") == "scheduled-task").ToList();
        Assert.Equal(6, tasks.Count);

        foreach (var task in tasks)
        {
            var output = await RunAsync(task.Inputs.At("spec.jobTemplate.spec.template.spec")!);
            Assert.Contains("STANDIN-PIEFED:", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ScheduledBackupAndRestoreTemplate_AsDeclared_BringBackWhatWasDumped()
    {
        await InstallAsync(Image);
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('alice'), ('bob')");

        await RunAsync(CronJob("piefed-db-backup"));
        Assert.Single(Directory.GetFiles(_backupVolume, "piefed-*.dump"));
        await Database.ExecuteAsync("DELETE FROM \"user\" WHERE user_name = 'bob'");
        await RunAsync(CronJob("piefed-db-restore"));

        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE id > 1 ORDER BY id"));
    }

    [Fact]
    public async Task DeclaredRestore_AsDeclared_BringsBackTheNewestDumpThisImageCanRestore()
    {
        await InstallAsync(Image);
        await Database.ExecuteAsync("INSERT INTO \"user\" (user_name) VALUES ('alice'), ('bob')");
        await RunAsync(CronJob("piefed-db-backup"));
        await Database.ExecuteAsync("DELETE FROM \"user\" WHERE user_name = 'bob'");

        _run = await ProgramAsync(StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest"));
        var output = await RunAsync(Assert.Single(_run.OfType(JobType), j => j.Name == "piefed-db-restore").Inputs.At("spec.template.spec")!);

        Assert.Contains("restored in", output, StringComparison.Ordinal);
        Assert.Equal(["alice", "bob"], await Database.QueryColumnAsync("SELECT user_name FROM \"user\" WHERE id > 1 ORDER BY id"));
    }

    private JsonNode CronJob(string name)
        => Assert.Single(_run!.OfType(CronJobType), c => c.Inputs.Str("metadata.name") == name).Inputs.At("spec.jobTemplate.spec.template.spec")!;

    /// <summary>Runs the pod's main container to completion and returns its output.</summary>
    private async Task<string> RunAsync(JsonNode pod)
    {
        var container = Assert.Single(pod.Objects("containers"));
        Assert.Equal("/app", container.Str("workingDir"));
        var command = container.Array("command").Select(c => c!.GetValue<string>()).ToArray();
        var environment = Environment(container);

        (string Text, string FileName) script;
        string[] arguments;
        if (command[0] == "python3")
        {
            var fileName = Path.GetFileName(command[1]);
            Assert.Equal($"{MigrationScripts.MountPath}/{fileName}", command[1]);
            script = (Scripts().Str($"data['{fileName}']")!, fileName);
            arguments = command[2..];
        }
        else
        {
            Assert.Equal("flask", command[0]);
            script = DbInit.FlaskCli;
            arguments = command[1..];
        }

        await using var process = ScriptProcess.Start(script.Text, script.FileName, environment, Image.AppDirectory, arguments);
        await OutputAssert.ExitsWith(0, process, DbInit.HardTimeout);
        return process.Output;
    }

    private Dictionary<string, string> Environment(JsonObject container)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var configMapName = container.Objects("envFrom").Single(e => e.At("configMapRef") is not null).Str("configMapRef.name")!;
        var configMap = Assert.Single(_run!.OfType(ConfigMapType), c => configMapName.StartsWith(c.Name + "-", StringComparison.Ordinal));
        foreach (var (name, value) in configMap.Inputs.At("data")!.AsObject())
        {
            environment[name] = value!.GetValue<string>();
        }

        var secretName = container.Objects("envFrom").Single(e => e.At("secretRef") is not null).Str("secretRef.name")!;
        var secretKeys = SecretNamed(secretName).At("stringData")!.AsObject().Select(p => p.Key).ToList();
        Assert.Equal(["CACHE_REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "SECRET_KEY"], secretKeys.Order());
        environment["SECRET_KEY"] = "a-test-secret-key-that-is-long-enough-to-sign";
        environment["DATABASE_URL"] = Database.SqlAlchemyUrl();
        environment["CACHE_REDIS_URL"] = Redis.Url();
        environment["CELERY_BROKER_URL"] = Redis.Url();

        var backupMount = container.Objects("volumeMounts").SingleOrDefault(m => m.Str("name") == "backups")?.Str("mountPath");
        foreach (var variable in container.Objects("env").Where(e => e.Str("value") is not null))
        {
            var value = variable.Str("value")!;
            environment[variable.Str("name")!] = backupMount is not null && value == backupMount ? _backupVolume : value;
        }

        foreach (var variable in container.Objects("env").Where(e => e.At("valueFrom.secretKeyRef") is not null))
        {
            var reference = variable.At("valueFrom.secretKeyRef")!;
            environment[variable.Str("name")!] = SecretNamed(reference.Str("name")!).Str($"stringData['{reference.Str("key")}']")!;
        }

        environment["PATH"] = Image.SearchPath;
        environment["HOSTNAME"] = container.Str("name")!;
        return environment;
    }

    /// <summary>An auto-named Secret by the name the cluster would give it: its resource name and a suffix.</summary>
    private JsonObject SecretNamed(string name)
        => Assert.Single(_run!.OfType(SecretType), s => name.StartsWith(s.Name + "-", StringComparison.Ordinal)).Inputs;

    private JsonObject Scripts() => Assert.Single(_run!.OfType(ConfigMapType), c => c.Name == "piefed-config-scripts").Inputs;
}
