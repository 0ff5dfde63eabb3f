using PieFed.Infra.Tests.Support;
using Pulumi;

namespace PieFed.Infra.Tests;

public sealed class ConfigurationTests
{
    private static readonly Dictionary<string, (Func<StackConfig> Config, string[] Expected)> BadConfigs = new()
    {
        ["environment missing"] = (() => StackConfig.Prod.With("environment", null),
            ["piefed:environment is required", "\"development\" or \"production\""]),
        ["environment unknown"] = (() => StackConfig.Prod.With("environment", "staging"),
            ["piefed:environment: \"staging\" is not allowed", "\"development\" or \"production\""]),
        ["mutable tag in production"] = (() => StackConfig.Prod.WithField("image", "tag", "latest"),
            ["piefed:image.tag: \"latest\" is a mutable tag", "expected a release tag"]),
        ["malformed tag"] = (() => StackConfig.Dev.WithField("image", "tag", "v1.7.7!"),
            ["piefed:image.tag: \"v1.7.7!\" is not allowed", "an image tag"]),
        ["repository with a tag"] = (() => StackConfig.Dev.WithField("image", "repository", "codeberg.org/rimu/pyfedi:v1.7.7"),
            ["piefed:image.repository", "without tag or digest"]),
        ["image not structured"] = (() => StackConfig.Dev.With("image", "v1.7.7"),
            ["piefed:image: \"v1.7.7\" is not a structured value", "repository, tag, digest, pullPolicy"]),
        ["server name with scheme"] = (() => StackConfig.Prod.With("serverName", "https://piefed.example.org"),
            ["piefed:serverName: \"https://piefed.example.org\" has a scheme", "bare domain name"]),
        ["server name missing"] = (() => StackConfig.Prod.With("serverName", null),
            ["piefed:serverName is required", "bare domain name"]),
        ["namespace not a DNS label"] = (() => StackConfig.Dev.With("namespace", "PieFed_Dev"),
            ["piefed:namespace: \"PieFed_Dev\" is not allowed", "lowercase DNS label"]),
        ["namespace reserved"] = (() => StackConfig.Dev.With("namespace", "kube-system"),
            ["piefed:namespace: \"kube-system\" is not allowed", "other than default, kube-system"]),
        ["admin name with a space"] = (() => StackConfig.Prod.WithField("admin", "userName", "the admin"),
            ["piefed:admin.userName: \"the admin\" is not allowed", "3 to 50 letters, digits or '_'"]),
        ["admin name an email"] = (() => StackConfig.Prod.WithField("admin", "userName", "admin@example.org"),
            ["piefed:admin.userName: \"admin@example.org\" is not allowed", "init-db asks again for a name with '@'"]),
        ["admin email without @"] = (() => StackConfig.Prod.WithField("admin", "email", "admin.example.org"),
            ["piefed:admin.email: \"admin.example.org\" is not allowed", "an email address"]),
        ["admin password too short"] = (() => StackConfig.Prod.With("adminPassword", "seven77"),
            ["piefed:adminPassword: a password of 7 characters is not allowed", "at least 8 characters"]),
        ["admin password on two lines"] = (() => StackConfig.Prod.With("adminPassword", "first line\nsecond"),
            ["piefed:adminPassword: a password of 17 characters is not allowed", "without line breaks"]),
        ["admin password beside an existing Secret"] = (() => StackConfig.Prod.With("existingSecret", "piefed-app-secrets").With("database", null).With("redis", null)
                .With("databasePassword", null).With("adminPassword", "long enough password"),
            ["piefed:adminPassword is set while piefed:existingSecret is", "PIEFED_ADMIN_PASSWORD in the Secret \"piefed-app-secrets\""]),
        ["redis password with a slash"] = (() => StackConfig.Prod.With("redisPassword", "abc/def="),
            ["piefed:redisPassword has a character that PieFed's Redis clients cannot all read from a URL", "parse_redis_socket_string"]),
        ["redis password with a percent sign"] = (() => StackConfig.Prod.With("redisPassword", "abc%41def"),
            ["piefed:redisPassword has a character", "without '#', '%', '/', '?', '[' or ']'"]),
        ["verify-full without a CA"] = (() => StackConfig.Prod.WithField("database", "sslMode", "verify-full"),
            ["piefed:database.sslMode: \"verify-full\" needs the CA that signed the server's certificate", "piefed:database.caSecret"]),
        ["a CA that verifies nothing"] = (() => StackConfig.Prod.WithField("database", "caSecret", "postgres-ca"),
            ["piefed:database.caSecret: is set while piefed:database.sslMode is \"require\"", "expected sslMode \"verify-full\""]),
        ["env not structured"] = (() => StackConfig.Dev.With("env", "MAIL_SERVER=mail.example.org"),
            ["piefed:env: \"MAIL_SERVER=mail.example.org\" is not a structured value; expected an object of names and values."]),
        ["KEDA cool-down longer than an HPA's window"] = (() => StackConfig.Prod.WithField("worker", "autoscaling.cooldownSeconds", 7200),
            ["piefed:worker.autoscaling.cooldownSeconds: \"7200\" is not allowed; expected a whole number from 30 to 3600."]),
        ["lock timeout of minutes"] = (() => StackConfig.Prod.WithField("migration", "lockTimeoutSeconds", 600),
            ["piefed:migration.lockTimeoutSeconds: \"600\" is not allowed; expected a whole number from 1 to 60."]),
        ["backup budget of days"] = (() => StackConfig.Prod.WithField("backup", "timeoutMinutes", 2880),
            ["piefed:backup.timeoutMinutes: \"2880\" is not allowed; expected a whole number from 1 to 720."]),
        ["negative replicas"] = (() => StackConfig.Dev.WithField("web", "replicas", -1),
            ["piefed:web.replicas: \"-1\" is not allowed", "a whole number from 0 to 100"]),
        ["replicas not a number"] = (() => StackConfig.Dev.WithField("worker", "replicas", "two"),
            ["piefed:worker.replicas: \"two\" is not allowed", "a whole number from 0 to 100"]),
        ["memory not a quantity"] = (() => StackConfig.Dev.WithField("worker", "resources.requests.memory", "lots"),
            ["piefed:worker.resources.requests.memory: \"lots\" is not allowed", "a memory quantity"]),
        ["request above limit"] = (() => StackConfig.Prod.WithField("web", "resources.requests.cpu", "3"),
            ["piefed:web.resources.requests.cpu: \"3\" is more than the limit \"2\"", "no larger than piefed:web.resources.limits.cpu"]),
        ["migration timeout zero"] = (() => StackConfig.Dev.WithField("migration", "timeoutMinutes", 0),
            ["piefed:migration.timeoutMinutes: \"0\" is not allowed", "a whole number from 1 to 120"]),
        ["backoff limit too large"] = (() => StackConfig.Dev.WithField("migration", "backoffLimit", 50),
            ["piefed:migration.backoffLimit: \"50\" is not allowed", "a whole number from 0 to 20"]),
        ["database password missing"] = (() => StackConfig.Prod.With("databasePassword", null),
            ["piefed:databasePassword is required", "pulumi config set --secret piefed:databasePassword"]),
        ["database host missing"] = (() => StackConfig.Prod.WithField("database", "host", null),
            ["piefed:database.host is required", "host name or IPv4 address"]),
        ["database port out of range"] = (() => StackConfig.Prod.WithField("database", "port", 70000),
            ["piefed:database.port: \"70000\" is not allowed", "a whole number from 1 to 65535"]),
        ["unknown ssl mode"] = (() => StackConfig.Prod.WithField("database", "sslMode", "on"),
            ["piefed:database.sslMode: \"on\" is not allowed", "one of \"disable\""]),
        ["cache and broker share a database"] = (() => StackConfig.Prod.WithField("redis", "brokerDb", 1),
            ["piefed:redis.brokerDb: \"1\" is also the cache database", "a Redis database other than piefed:redis.cacheDb"]),
        ["misspelt field"] = (() => StackConfig.Dev.WithField("web", "replica", 2),
            ["piefed:web.replica is not a known setting", "the known fields are replicas, resources, gunicornWorkers"]),
        ["reserved environment variable"] = (() => StackConfig.Dev.WithField("env", "DATABASE_URL", "sqlite://"),
            ["piefed:env.DATABASE_URL is set by the program itself", "use the dedicated settings"]),
        ["short secret key"] = (() => StackConfig.Dev.With("secretKey", "hunter2"),
            ["piefed:secretKey: a value of 7 characters is too short", "at least 32 characters"]),
        ["gunicorn workers zero"] = (() => StackConfig.Prod.WithField("web", "gunicornWorkers", 0),
            ["piefed:web.gunicornWorkers: \"0\" is not allowed", "a whole number from 1 to 32"]),
        ["celery concurrency too high"] = (() => StackConfig.Prod.WithField("worker", "concurrency", 100),
            ["piefed:worker.concurrency: \"100\" is not allowed", "a whole number from 1 to 64"]),
        ["grace period too short"] = (() => StackConfig.Prod.WithField("worker", "terminationGracePeriodSeconds", 5),
            ["piefed:worker.terminationGracePeriodSeconds: \"5\" is not allowed", "a whole number from 30 to 3600"]),
        ["malformed cron schedule"] = (() => StackConfig.Prod.WithField("cron", "sendQueue", "every minute"),
            ["piefed:cron.sendQueue: \"every minute\" is not allowed", "a cron schedule of five fields", "or \"disabled\""]),
        ["unknown scheduled task"] = (() => StackConfig.Prod.WithField("cron", "backup", "0 3 * * *"),
            ["piefed:cron.backup is not a known setting", "dailyMaintenance, sendQueue"]),
        ["backup keep zero"] = (() => StackConfig.Prod.WithField("backup", "keep", 0),
            ["piefed:backup.keep: \"0\" is not allowed", "a whole number from 1 to 365"]),
        ["backup schedule malformed"] = (() => StackConfig.Prod.WithField("backup", "schedule", "nightly"),
            ["piefed:backup.schedule: \"nightly\" is not allowed", "a cron schedule of five fields", "or \"disabled\""]),
        ["backup size not a quantity"] = (() => StackConfig.Prod.WithField("backup", "size", "plenty"),
            ["piefed:backup.size: \"plenty\" is not allowed", "a storage quantity such as \"20Gi\""]),
        ["backup storage class malformed"] = (() => StackConfig.Prod.WithField("backup", "storageClass", "Fast_SSD"),
            ["piefed:backup.storageClass: \"Fast_SSD\" is not allowed", "the name of a StorageClass"]),
        ["backup switch not boolean"] = (() => StackConfig.Dev.WithField("backup", "beforeMigration", "yes"),
            ["piefed:backup.beforeMigration: \"yes\" is not allowed", "true or false"]),
        ["backup field misspelt"] = (() => StackConfig.Prod.WithField("backup", "retention", 7),
            ["piefed:backup.retention is not a known setting", "beforeMigration, schedule, keep, size, storageClass"]),
        ["FLASK_APP overridden"] = (() => StackConfig.Dev.WithField("env", "FLASK_APP", "app"),
            ["piefed:env.FLASK_APP is set by the program itself"]),
        ["production without a cluster context"] = (() => StackConfig.Prod.With("kubernetes:context", null),
            ["kubernetes:context is required in production", "pulumi config set kubernetes:context <name>"]),
        ["empty cluster context"] = (() => StackConfig.Dev.With("kubernetes:context", ""),
            ["kubernetes:context: an empty context is not allowed", "the name of a context in your kubeconfig"]),
        ["secret in the plain environment"] = (() => StackConfig.Prod.WithField("env", "MAIL_PASSWORD", "hunter2hunter2"),
            ["piefed:env.MAIL_PASSWORD looks like a secret", "pulumi config set --secret --path 'piefed:secretEnv.MAIL_PASSWORD'"]),
        ["Sentry DSN in the plain environment"] = (() => StackConfig.Prod.WithField("env", "SENTRY_DSN", "https://key@sentry.example/1"),
            ["piefed:env.SENTRY_DSN looks like a secret", "piefed:secretEnv"]),
        ["secret environment with an existing Secret"] = (() => StackConfig.Prod.With("databasePassword", null).With("database", null).With("redis", null)
                .With("existingSecret", "piefed-app").WithField("secretEnv", "MAIL_PASSWORD", "hunter2hunter2"),
            ["piefed:secretEnv.MAIL_PASSWORD is set while piefed:existingSecret is", "in the Secret \"piefed-app\""]),
        ["secret environment name invalid"] = (() => StackConfig.Prod.WithField("secretEnv", "mail-password", "x"),
            ["piefed:secretEnv.mail-password is not a valid environment variable name"]),
        ["secret environment reserved"] = (() => StackConfig.Prod.WithField("secretEnv", "DATABASE_URL", "x"),
            ["piefed:secretEnv.DATABASE_URL is set by the program itself"]),
        ["secret environment also plain"] = (() => StackConfig.Prod.WithField("env", "MAIL_USERNAME", "piefed").WithField("secretEnv", "MAIL_USERNAME", "x"),
            ["piefed:secretEnv.MAIL_USERNAME is also set in piefed:env"]),
        ["media on ReadWriteOncePod"] = (() => StackConfig.Prod.WithField("media", "accessMode", "ReadWriteOncePod"),
            ["piefed:media.accessMode: \"ReadWriteOncePod\" is not allowed", "would leave all but one pod waiting"]),
        ["media on ReadWriteOnce across nodes"] = (() => StackConfig.Prod.WithField("media", "accessMode", "ReadWriteOnce"),
            ["piefed:media.accessMode: \"ReadWriteOnce\" attaches the volume to one node", "piefed:media.singleNode: true"]),
        ["single node not boolean"] = (() => StackConfig.Dev.WithField("media", "singleNode", "maybe"),
            ["piefed:media.singleNode: \"maybe\" is not allowed", "true or false"]),
        ["migration memory not a quantity"] = (() => StackConfig.Prod.WithField("migration", "resources.limits.memory", "big"),
            ["piefed:migration.resources.limits.memory: \"big\" is not allowed", "a memory quantity"]),
        ["migration request above limit"] = (() => StackConfig.Prod.WithField("migration", "resources.requests.cpu", "4"),
            ["piefed:migration.resources.requests.cpu: \"4\" is more than the limit \"1\""]),
        ["autoscaling range inverted"] = (() => StackConfig.Prod.WithField("web", "autoscaling.enabled", true).WithField("web", "autoscaling.minReplicas", 5).WithField("web", "autoscaling.maxReplicas", 3),
            ["piefed:web.autoscaling.maxReplicas: \"3\" is less than minReplicas \"5\""]),
        ["autoscaling target too low"] = (() => StackConfig.Prod.WithField("worker", "autoscaling.cpuUtilization", 5),
            ["piefed:worker.autoscaling.cpuUtilization: \"5\" is not allowed", "a whole number from 10 to 100"]),
        ["autoscaling field misspelt"] = (() => StackConfig.Prod.WithField("worker", "autoscaling.max", 5),
            ["piefed:worker.autoscaling.max is not a known setting", "minReplicas, maxReplicas"]),
        ["KEDA with an existing Secret"] = (() => StackConfig.Prod.With("databasePassword", null).With("database", null).With("redis", null)
                .With("existingSecret", "piefed-app").WithField("worker", "autoscaling.enabled", true).WithField("worker", "autoscaling.keda", true),
            ["piefed:worker.autoscaling.keda is true while piefed:existingSecret is"]),
        ["notifications without replicas"] = (() => StackConfig.Prod.WithField("notifications", "replicas", 0),
            ["piefed:notifications.replicas: \"0\" is not allowed", "a whole number from 1 to 20"]),
        ["community search refresh malformed"] = (() => StackConfig.Prod.WithField("communitySearch", "refreshHours", "weekly"),
            ["piefed:communitySearch.refreshHours: \"weekly\" is not allowed", "1 to 168, or \"disabled\""]),
        ["NOTIF_SERVER overridden"] = (() => StackConfig.Prod.WithField("env", "NOTIF_SERVER", "https://elsewhere.example"),
            ["piefed:env.NOTIF_SERVER is set by the program itself"]),
        ["unknown media storage"] = (() => StackConfig.Prod.WithField("media", "storage", "nfs"),
            ["piefed:media.storage: \"nfs\" is not allowed", "one of \"pvc\", \"s3\""]),
        ["unknown access mode"] = (() => StackConfig.Prod.WithField("media", "accessMode", "RWX"),
            ["piefed:media.accessMode: \"RWX\" is not allowed", "\"ReadWriteMany\""]),
        ["s3 without bucket or keys"] = (() => StackConfig.Prod.WithField("media", "storage", "s3").WithField("media", "s3.region", "eu-central-1"),
            ["piefed:media.s3.bucket is required", "piefed:s3AccessKey is required", "piefed:s3AccessSecret is required", "pulumi config set --secret piefed:s3AccessSecret"]),
        ["s3 settings on a claim"] = (() => StackConfig.Prod.WithField("media", "s3.bucket", "media"),
            ["piefed:media.s3: is set while piefed:media.storage is \"pvc\"", "expected piefed:media.storage: s3"]),
        ["bundled and external servers"] = (() => StackConfig.Dev.WithField("database", "host", "db.example.org"),
            ["piefed:database is set while piefed:bundledServices.enabled is true", "remove one of the two"]),
        ["bundled image without tag"] = (() => StackConfig.Dev.WithField("bundledServices", "postgresImage", "postgres"),
            ["piefed:bundledServices.postgresImage: \"postgres\" is not allowed", "an image reference with a tag"]),
        ["ingress switch not boolean"] = (() => StackConfig.Prod.WithField("ingress", "enabled", "yes"),
            ["piefed:ingress.enabled: \"yes\" is not allowed", "expected true or false"]),
        ["ingress annotation not text"] = (() => StackConfig.Prod.WithField("ingress", "annotations.nginx", new { a = 1 }),
            ["piefed:ingress.annotations.nginx", "expected a text, number or boolean value"]),
        ["protectData not boolean"] = (() => StackConfig.Prod.With("protectData", "yes"),
            ["piefed:protectData: \"yes\" is not allowed", "expected true or false"]),
        ["unknown spread mode"] = (() => StackConfig.Prod.WithField("spread", "mode", "strict"),
            ["piefed:spread.mode: \"strict\" is not allowed", "one of \"soft\", \"hard\", \"disabled\""]),
        ["spread zones not boolean"] = (() => StackConfig.Prod.WithField("spread", "zones", "yes"),
            ["piefed:spread.zones: \"yes\" is not allowed", "expected true or false"]),
        ["spread field misspelt"] = (() => StackConfig.Prod.WithField("spread", "maxSkew", 2),
            ["piefed:spread.maxSkew is not a known setting", "the known fields are mode, zones"]),
        ["network policy switch not boolean"] = (() => StackConfig.Prod.WithField("networkPolicy", "enabled", "on"),
            ["piefed:networkPolicy.enabled: \"on\" is not allowed", "expected true or false"]),
        ["network policy field misspelt"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCIDRs", new[] { "10.0.0.1/32" }),
            ["piefed:networkPolicy.apiServerCIDRs is not a known setting", "enabled, ingressNamespaceSelector, apiServerCidrs"]),
        ["ingress namespace selector empty"] = (() => StackConfig.Prod.WithField("networkPolicy", "ingressNamespaceSelector", new Dictionary<string, string>()),
            ["piefed:networkPolicy.ingressNamespaceSelector: an empty selector would let every namespace reach the web pods", "the labels of the ingress controller's namespace"]),
        ["ingress namespace selector not a map"] = (() => StackConfig.Prod.WithField("networkPolicy", "ingressNamespaceSelector", "ingress-nginx"),
            ["piefed:networkPolicy.ingressNamespaceSelector: \"ingress-nginx\" is not allowed", "expected an object of names and values"]),
        ["ingress namespace label key malformed"] = (() => StackConfig.Prod.WithField("networkPolicy", "ingressNamespaceSelector", new Dictionary<string, string> { ["Kubernetes.IO/name"] = "ingress" }),
            ["piefed:networkPolicy.ingressNamespaceSelector.Kubernetes.IO/name: is not a label key", "e.g. \"kubernetes.io/metadata.name\""]),
        ["ingress namespace label value malformed"] = (() => StackConfig.Prod.WithField("networkPolicy", "ingressNamespaceSelector", new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "ingress nginx" }),
            ["piefed:networkPolicy.ingressNamespaceSelector.kubernetes.io/metadata.name: \"ingress nginx\" is not a label value", "at most 63 letters, digits"]),
        ["API server CIDR not a CIDR"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", new[] { "10.0.0.1" }),
            ["piefed:networkPolicy.apiServerCidrs[0]: \"10.0.0.1\" is not allowed", "a CIDR in canonical form", "\"10.0.0.1/32\""]),
        ["API server CIDR with host bits"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", new[] { "10.0.0.0/8", "172.20.0.1/16" }),
            ["piefed:networkPolicy.apiServerCidrs[1]: \"172.20.0.1/16\" is not allowed", "host bits zero"]),
        ["API server CIDR inside the metadata range"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", new[] { "169.254.169.254/32" }),
            ["piefed:networkPolicy.apiServerCidrs[0]: \"169.254.169.254/32\" is not allowed", "not inside the cloud metadata ranges 169.254.0.0/16 and fd00:ec2::254/128"]),
        ["API server CIDRs empty"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", Array.Empty<string>()),
            ["piefed:networkPolicy.apiServerCidrs: an empty list leaves the migration gate's init containers no way to the Kubernetes API", "kubectl get endpoints kubernetes -n default"]),
        ["API server CIDRs not a list"] = (() => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", "10.0.0.1/32"),
            ["piefed:networkPolicy.apiServerCidrs: \"10.0.0.1/32\" is not allowed", "expected a list, each item a CIDR"]),
        ["mail port not a port"] = (() => StackConfig.Prod.WithField("env", "MAIL_SERVER", "smtp.example.org").WithField("env", "MAIL_PORT", "smtp"),
            ["piefed:env.MAIL_PORT: \"smtp\" is not allowed", "a whole number from 1 to 65535"]),
        ["database password in plaintext"] = (() => StackConfig.Prod.WithPlaintext("databasePassword", "hunter2-plain"),
            ["piefed:databasePassword is stored in plaintext in the stack's configuration file", "expected it encrypted: `pulumi config set --secret piefed:databasePassword`"]),
        ["admin password in plaintext"] = (() => StackConfig.Dev.WithPlaintext("adminPassword", "hunter2-plain"),
            ["piefed:adminPassword is stored in plaintext", "`pulumi config set --secret piefed:adminPassword`"]),
        ["restore outside maintenance"] = (() => StackConfig.Prod.WithField("maintenance", "restore", "newest"),
            ["piefed:maintenance.restore: is set while piefed:maintenance.enabled is false", "expected piefed:maintenance.enabled: true, applied by a `pulumi up` of its own first"]),
        ["restore without a backup volume"] = (() => StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest")
                .WithField("backup", "beforeMigration", false).WithField("backup", "schedule", "disabled"),
            ["piefed:maintenance.restore: is set while backups are disabled", "there is no backup volume to restore from"]),
        ["restore of a path"] = (() => StackConfig.Prod.WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "../etc/passwd"),
            ["piefed:maintenance.restore: \"../etc/passwd\" is not allowed", "\"newest\" (the newest dump this release's image can restore) or a dump's file name in the backup volume"]),
        ["maintenance switch not boolean"] = (() => StackConfig.Prod.WithField("maintenance", "enabled", "on"),
            ["piefed:maintenance.enabled: \"on\" is not allowed", "expected true or false"]),
        ["maintenance of an autoscaled Deployment in render mode"] = (() => StackConfig.Prod.With("existingSecret", "piefed-secrets").With("database", null).With("redis", null).With("databasePassword", null)
                .WithField("render", "directory", "rendered").WithField("maintenance", "enabled", true).WithField("web", "autoscaling.enabled", true),
            ["piefed:maintenance.enabled is true while piefed:render.directory is set and an autoscaler owns the replicas of web or worker", "expected piefed:web.autoscaling.enabled and piefed:worker.autoscaling.enabled false while in maintenance"]),
        ["restore in render mode"] = (() => StackConfig.Prod.With("existingSecret", "piefed-secrets").With("database", null).With("redis", null).With("databasePassword", null)
                .WithField("render", "directory", "rendered").WithField("maintenance", "enabled", true).WithField("maintenance", "restore", "newest"),
            ["piefed:maintenance.restore is set while piefed:render.directory is", "the restore template run by hand (docs/gitops.md"]),
    };

    public static TheoryData<string> BadConfigNames => [.. BadConfigs.Keys];

    [Theory]
    [MemberData(nameof(BadConfigNames))]
    public async Task Program_BadConfig_FailsWithNamedErrorBeforeRegisteringAnything(string name)
    {
        var (config, expected) = BadConfigs[name];
        var mocks = new RecordingMocks();

        var error = await Assert.ThrowsAsync<RunException>(() => StackRun.ProgramAsync(config(), mocks: mocks));

        foreach (var fragment in expected)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }

        Assert.Contains("nothing was deployed", error.Message, StringComparison.Ordinal);
        Assert.Empty(mocks.Registrations);
    }

    [Fact]
    public async Task Program_SeveralBadValues_ReportsEveryOneAtOnce()
    {
        var config = StackConfig.Prod
            .WithField("image", "tag", "latest")
            .WithField("web", "replicas", -1)
            .With("serverName", "piefed.example.org/");

        var error = await Assert.ThrowsAsync<RunException>(() => StackRun.ProgramAsync(config));

        Assert.Contains("piefed:image.tag", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:web.replicas", error.Message, StringComparison.Ordinal);
        Assert.Contains("piefed:serverName: \"piefed.example.org/\" has a path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Program_MutableTagPinnedByDigest_IsAcceptedInProduction()
    {
        var digest = "sha256:" + new string('a', 64);
        var config = StackConfig.Prod.WithField("image", "tag", "latest").WithField("image", "digest", digest);

        var run = await StackRun.ProgramAsync(config);

        Assert.Equal($"codeberg.org/rimu/pyfedi:latest@{digest}", run.Single(StackRun.JobType).Inputs.Str("spec.template.spec.containers[0].image"));
    }

    [Fact]
    public async Task Program_MutableTag_IsAcceptedInDevelopment()
    {
        var run = await StackRun.ProgramAsync(StackConfig.Dev.WithField("image", "tag", "latest"));

        Assert.Equal("codeberg.org/rimu/pyfedi:latest", run.Single(StackRun.JobType).Inputs.Str("spec.template.spec.containers[0].image"));
    }

    [Fact]
    public async Task Program_MigrationUnset_DefaultsToTenMinutesAndThreeRetries()
    {
        var run = await StackRun.ProgramAsync(StackConfig.Prod.With("migration", null).WithField("backup", "beforeMigration", false));

        var job = run.Single(StackRun.JobType).Inputs;
        Assert.Equal("600", job.Str("metadata.annotations['pulumi.com/timeoutSeconds']"));
        Assert.Equal(3, job.At("spec.backoffLimit")!.GetValue<double>());
        Assert.Equal(600, job.At("spec.activeDeadlineSeconds")!.GetValue<double>());
    }

    /// <summary>
    /// PieFed's periodic work as its own image runs it, transcribed from v1.7.7 (codeberg.org/rimu/pyfedi,
    /// mirrored with the Docker files in mitexleo/piefed-docker at 014644f): each line of piefed/docker.cron,
    /// with the flask commands of the script the line runs (daily.sh, send_queue.sh, email_notifs.sh,
    /// remove_orphan_files.sh). The expectations below come from here, never from PieFedImage.
    /// </summary>
    private static readonly (string Schedule, string Script, string[] FlaskCommands)[] UpstreamDockerCron =
    [
        ("5 2 * * *", "daily.sh", ["daily-maintenance"]),
        ("*/1 * * * *", "send_queue.sh", ["send-queue"]),
        ("*/30 * * * *", "email_notifs.sh", ["send_missed_notifs", "process_email_bounces", "clean_up_old_activities"]),
        ("5 4 * * 1", "remove_orphan_files.sh", ["remove_orphan_files"]),
    ];

    [Fact]
    public async Task Program_RunsEveryUpstreamScheduledCommandWhenUpstreamRunsItAndNothingElse()
    {
        var run = await StackRun.ProgramAsync(StackConfig.Prod);

        var expected = UpstreamDockerCron
            .SelectMany(line => line.FlaskCommands.Select(command => $"flask {command} at {Cron.Describe(line.Schedule)}"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, ScheduledCommands(run).Select(job => $"{job.Command} at {Cron.Describe(job.Schedule)}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Program_EveryUpstreamScheduledCommandHasTheCronInputThatReschedulesItAlone()
    {
        // Each input gets a schedule of its own; every upstream command must then run on exactly one of them.
        var inputs = Configuration.InputShape.Names<Inputs.CronArgs>().ToList();
        var config = StackConfig.Prod;
        foreach (var (minute, input) in inputs.Index())
        {
            config = config.WithField("cron", input, $"{minute} 3 * * *");
        }

        var run = await StackRun.ProgramAsync(config);

        var scheduleByCommand = ScheduledCommands(run).ToDictionary(job => job.Command, job => job.Schedule);
        var upstreamCommands = UpstreamDockerCron.SelectMany(line => line.FlaskCommands).Select(command => $"flask {command}");
        Assert.Equal(upstreamCommands.Order(StringComparer.Ordinal), scheduleByCommand.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(scheduleByCommand.Count, scheduleByCommand.Values.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(inputs.Select((_, minute) => $"{minute} 3 * * *").Order(StringComparer.Ordinal), scheduleByCommand.Values.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Program_AScheduledCommandSetToDisabled_IsTheOnlyOneGone()
    {
        var all = ScheduledCommands(await StackRun.ProgramAsync(StackConfig.Prod)).Select(job => job.Command).Order(StringComparer.Ordinal).ToList();

        var run = await StackRun.ProgramAsync(StackConfig.Prod.WithField("cron", "removeOrphanFiles", "disabled"));

        Assert.Equal(all.Where(command => command != "flask remove_orphan_files"), ScheduledCommands(run).Select(job => job.Command).Order(StringComparer.Ordinal));
    }

    /// <summary>The CronJobs of PieFed's own commands (the database's backups and restores are the program's).</summary>
    private static IEnumerable<(string Command, string Schedule)> ScheduledCommands(StackRun run)
        => run.OfType(StackRun.CronJobType)
            .Where(cronJob => !cronJob.Inputs.Str("metadata.name")!.StartsWith("piefed-db-", StringComparison.Ordinal))
            .Select(cronJob => (
                string.Join(' ', cronJob.Inputs.Array("spec.jobTemplate.spec.template.spec.containers[0].command").Select(part => part!.GetValue<string>())),
                cronJob.Inputs.Str("spec.schedule")!));
}
