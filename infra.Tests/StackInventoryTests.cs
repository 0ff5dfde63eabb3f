using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

public sealed class StackInventoryTests
{
    private static readonly (string Type, string Name)[] CommonInventory =
    [
        ("pulumi:providers:kubernetes", "piefed-kubernetes"),
        ("piefed:index:PieFedInstance", "piefed"),
        ("piefed:core:AppNamespace", "piefed-namespace"),
        (NamespaceType, "piefed-namespace"),
        ("piefed:migration:MigrationRbac", "piefed-migration-rbac"),
        (ServiceAccountType, "piefed-migration-rbac-account"),
        (RoleType, "piefed-migration-rbac-role"),
        (RoleBindingType, "piefed-migration-rbac-binding"),
        ("piefed:data:MediaVolume", "piefed-media"),
        (PersistentVolumeClaimType, "piefed-media"),
        ("piefed:data:BackupVolume", "piefed-backups"),
        (PersistentVolumeClaimType, "piefed-backups"),
        ("piefed:app:AppConfiguration", "piefed-config"),
        (ConfigMapType, "piefed-config-env"),
        (RecordingMocks.RandomPasswordType, "piefed-config-secret-key"),
        (SecretType, "piefed-config-secrets"),
        (RecordingMocks.RandomPasswordType, "piefed-config-admin-password"),
        (SecretType, "piefed-config-admin"),
        (ConfigMapType, "piefed-config-scripts"),
        ("piefed:migration:DatabaseMigration", "piefed-db-init"),
        (JobType, "piefed-db-init"),
        ("piefed:app:WebEndpoint", "piefed-web"),
        (ServiceType, "piefed-web"),
        ("piefed:app:PieFedDeployment", "piefed-web"),
        (DeploymentType, "piefed-web"),
        ("piefed:app:PieFedDeployment", "piefed-worker"),
        (DeploymentType, "piefed-worker"),
        ("piefed:app:ScheduledTasks", "piefed-cron"),
        (CronJobType, "piefed-cron-daily-maintenance"),
        (CronJobType, "piefed-cron-send-queue"),
        (CronJobType, "piefed-cron-clean-up-old-activities"),
        (CronJobType, "piefed-cron-remove-orphan-files"),
        ("piefed:app:NotificationsEndpoint", "piefed-notifications"),
        (ServiceType, "piefed-notifications"),
        ("piefed:app:PieFedDeployment", "piefed-notifications"),
        (DeploymentType, "piefed-notifications"),
        ("piefed:data:DatabaseBackups", "piefed-db-backups"),
        (CronJobType, "piefed-db-backups-scheduled"),
        (CronJobType, "piefed-db-backups-restore"),
    ];

    /// <summary>Dev bundles its servers and disables two schedules; one replica needs no disruption budget.</summary>
    private static readonly (string Type, string Name)[] DevOnlyInventory =
    [
        ("piefed:data:BundledServer", "piefed-postgres"),
        (RecordingMocks.RandomPasswordType, "piefed-postgres-password"),
        (SecretType, "piefed-postgres-credentials"),
        (ServiceType, "piefed-postgres"),
        (StatefulSetType, "piefed-postgres"),
        ("piefed:data:BundledServer", "piefed-redis"),
        (RecordingMocks.RandomPasswordType, "piefed-redis-password"),
        (SecretType, "piefed-redis-credentials"),
        (ServiceType, "piefed-redis"),
        (StatefulSetType, "piefed-redis"),
    ];

    /// <summary>Prod uses external servers, serves through an Ingress, keeps web up through node drains and isolates its namespace.</summary>
    private static readonly (string Type, string Name)[] ProdOnlyInventory =
    [
        (IngressType, "piefed-web"),
        (IngressType, "piefed-notifications"),
        (PodDisruptionBudgetType, "piefed-web-budget"),
        (PodDisruptionBudgetType, "piefed-worker-budget"),
        ("piefed:network:NetworkAllowances", "piefed-network"),
        (NetworkPolicyType, "piefed-network-web"),
        (NetworkPolicyType, "piefed-network-notifications"),
        (NetworkPolicyType, "piefed-network-egress"),
        ("piefed:network:NetworkIsolation", "piefed-default-deny"),
        (NetworkPolicyType, "piefed-default-deny"),
        (CronJobType, "piefed-cron-send-missed-notifs"),
        (CronJobType, "piefed-cron-process-email-bounces"),
    ];

    public static TheoryData<string> Stacks => ["dev", "prod"];

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task Program_EachStack_RegistersTheFullInventory(string stack)
    {
        var run = await ProgramAsync(Config(stack));

        var expected = CommonInventory.Concat(stack == "dev" ? DevOnlyInventory : ProdOnlyInventory);
        Assert.Equal(expected.Order(), run.Registrations.Select(r => (r.Type, r.Name)).Order());
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task Program_EachStack_ExportsTheNamesOperatorsTypeIntoKubectl(string stack)
    {
        var run = await ProgramAsync(Config(stack));

        Assert.Equal(["adminPassword", "adminUserName", "kubernetesContext", "migrationJobName", "namespace", "webDeploymentName", "webServiceName", "workerDeploymentName"], run.Outputs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(stack == "dev" ? "(the kubeconfig's current context)" : "piefed-prod", run.Outputs["kubernetesContext"]);
        Assert.Equal("piefed-web", await ValueAsync<string>(run.Outputs["webServiceName"]));
        Assert.Equal(stack == "dev" ? "piefed-dev" : "piefed", await ValueAsync<string>(run.Outputs["namespace"]));
        Assert.Equal("piefed-web", await ValueAsync<string>(run.Outputs["webDeploymentName"]));
        Assert.Equal("piefed-worker", await ValueAsync<string>(run.Outputs["workerDeploymentName"]));
        var jobName = await ValueAsync<string>(run.Outputs["migrationJobName"]);
        Assert.StartsWith("piefed-db-init-", jobName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Program_DevAndProd_DifferAsTheirStackFilesSay()
    {
        var dev = await ProgramAsync(StackConfig.Dev);
        var prod = await ProgramAsync(StackConfig.Prod);

        Assert.All(NamespacedObjects(dev), r => Assert.Equal("piefed-dev", r.Inputs.Str("metadata.namespace")));
        Assert.All(NamespacedObjects(prod), r => Assert.Equal("piefed", r.Inputs.Str("metadata.namespace")));
        Assert.Equal(1, dev.Deployment("web").Inputs.At("spec.replicas")!.GetValue<double>());
        Assert.Equal(2, prod.Deployment("web").Inputs.At("spec.replicas")!.GetValue<double>());
        Assert.Equal(2, prod.Deployment("worker").Inputs.At("spec.replicas")!.GetValue<double>());
        Assert.Equal("448Mi", dev.Deployment("web").Inputs.Str("spec.template.spec.containers[0].resources.requests.memory"));
        Assert.Equal("1536Mi", prod.Deployment("worker").Inputs.Str("spec.template.spec.containers[0].resources.limits.memory"));
        Assert.Equal("600", dev.Single(JobType).Inputs.Str("metadata.annotations['pulumi.com/timeoutSeconds']"));
        // Production dumps the database before migrating, on a budget of its own.
        Assert.Equal("2700", prod.Single(JobType).Inputs.Str("metadata.annotations['pulumi.com/timeoutSeconds']"));

        Assert.Equal("http", Environment(dev)["HTTP_PROTOCOL"]);
        Assert.Equal("https", Environment(prod)["HTTP_PROTOCOL"]);
        Assert.Equal("piefed.localhost", Environment(dev)["SERVER_NAME"]);
        Assert.Equal("piefed.example.org", Environment(prod)["SERVER_NAME"]);
        Assert.EndsWith("@postgres.example.internal:5432/piefed?sslmode=require", Secrets(prod)["DATABASE_URL"], StringComparison.Ordinal);
        Assert.Equal("postgresql+psycopg2://piefed:generated-password-of-piefed-postgres-password@piefed-postgres.piefed-dev.svc:5432/piefed", Secrets(dev)["DATABASE_URL"]);
        Assert.Equal("redis://:generated-password-of-piefed-redis-password@piefed-redis.piefed-dev.svc:6379/1", Secrets(dev)["CACHE_REDIS_URL"]);
        Assert.Equal("redis://:generated-password-of-piefed-redis-password@piefed-redis.piefed-dev.svc:6379/0", Secrets(dev)["CELERY_BROKER_URL"]);
        Assert.Equal("ReadWriteOnce", dev.Claim("piefed-media").Inputs.Str("spec.accessModes[0]"));
        Assert.Equal("ReadWriteMany", prod.Claim("piefed-media").Inputs.Str("spec.accessModes[0]"));
        Assert.Equal("50Gi", prod.Claim("piefed-media").Inputs.Str("spec.resources.requests.storage"));
    }

    [Fact]
    public async Task Program_AppSecrets_CarryTheConnectionUrlsAndAGeneratedSecretKey()
    {
        // How each reader decodes these URLs is tested against the readers themselves (PieFedRuntimeTests).
        var run = await ProgramAsync(StackConfig.Prod.With("redisPassword", "r3dis pass"));

        var secrets = Secrets(run);
        Assert.StartsWith("postgresql+psycopg2://piefed:", secrets["DATABASE_URL"], StringComparison.Ordinal);
        Assert.EndsWith("@postgres.example.internal:5432/piefed?sslmode=require", secrets["DATABASE_URL"], StringComparison.Ordinal);
        Assert.Equal("redis://:r3dis pass@redis.example.internal:6379/1", secrets["CACHE_REDIS_URL"]);
        Assert.Equal("redis://:r3dis pass@redis.example.internal:6379/0", secrets["CELERY_BROKER_URL"]);
        Assert.Equal("generated-password-of-piefed-config-secret-key", secrets["SECRET_KEY"]);
        Assert.Equal("RedisCache", Environment(run)["CACHE_TYPE"]);
    }

    [Fact]
    public async Task Program_ConfiguredSecretKey_IsUsedAndNothingIsGenerated()
    {
        var key = new string('k', 48);

        var run = await ProgramAsync(StackConfig.Prod.With("secretKey", key).With("adminPassword", "an administrator password"));

        Assert.Equal(key, Secrets(run)["SECRET_KEY"]);
        Assert.Empty(run.OfType(RecordingMocks.RandomPasswordType));
    }

    [Fact]
    public async Task Program_ScriptsConfigMap_ShipsTheScriptFilesOfTheRepository()
    {
        var run = await ProgramAsync(StackConfig.Dev);

        var shipped = run.OfType(ConfigMapType).Single(c => c.Name == "piefed-config-scripts").Inputs.At("data")!.AsObject();
        var repositoryScripts = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scripts"), "*.py")
            .ToDictionary(path => Path.GetFileName(path), File.ReadAllText);
        Assert.Equal(["db_init.py", "wait_for_migrations.py"], repositoryScripts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(repositoryScripts.Keys.Order(StringComparer.Ordinal), shipped.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (fileName, text) in repositoryScripts)
        {
            Assert.Equal(text, shipped[fileName]!.GetValue<string>());
        }
    }

    internal static IEnumerable<Registration> NamespacedObjects(StackRun run)
        => run.Registrations.Where(r => r.Type.StartsWith("kubernetes:", StringComparison.Ordinal) && r.Type != NamespaceType);

    internal static StackConfig Config(string stack) => stack == "dev" ? StackConfig.Dev : StackConfig.Prod;

    internal static Dictionary<string, string> Environment(StackRun run)
        => StringMap(run.OfType(ConfigMapType).Single(c => c.Name == "piefed-config-env").Inputs, "data");

    internal static Dictionary<string, string> Secrets(StackRun run)
        => StringMap(run.AppSecret(), "stringData");

    private static Dictionary<string, string> StringMap(System.Text.Json.Nodes.JsonObject inputs, string field)
        => inputs.At(field)!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
}
