using PieFed.Infra.Configuration;
using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Random;
using CoreV1 = Pulumi.Kubernetes.Core.V1;

namespace PieFed.Infra.Components;

public sealed class AppConfigurationArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required PieFedSettings Settings { get; init; }

    /// <summary>The connection URLs to keep in the app's Secret; null when <see cref="PieFedSettings.ExistingSecret"/> holds them.</summary>
    public required ConnectionSecrets? Connections { get; init; }
}

/// <param name="Optional">Whether a pod may start without it (an operator's Secret may drop the key after the first install).</param>
public sealed record SecretKeyReference(Output<string> SecretName, string Key, bool Optional);

public sealed record ConnectionSecrets(Output<string> DatabaseUrl, Output<string> CacheRedisUrl, Output<string> CeleryBrokerUrl);

/// <summary>
/// PieFed's environment (a ConfigMap), its secrets (a Secret) and the migration-gate scripts. All
/// three are auto-named, so that a change produces a new object whose new name rolls every pod
/// that reads it, and a new migration run.
/// </summary>
public sealed class AppConfiguration : ComponentResource
{
    public AppConfiguration(string name, AppConfigurationArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:AppConfiguration", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = args.Settings;
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For("configuration");

        var environment = new CoreV1.ConfigMap($"{name}-env", new ConfigMapArgs
        {
            Metadata = new ObjectMetaArgs { Namespace = args.Namespace, Labels = labels },
            Data = Environment(settings),
        }, childOptions);

        SecretName = settings.ExistingSecret is { } existing
            ? Output.Create(existing)
            : AppSecret(name, args.Namespace, settings, args.Connections ?? throw new ArgumentException("Connections are required without an existing Secret.", nameof(args)), labels).Metadata.Apply(m => m.Name);

        if (settings.ExistingSecret is { } operatorSecret)
        {
            // The operator's Secret is theirs to fill; once the first install is done the key may go.
            AdminPassword = null;
            AdminPasswordSecret = new SecretKeyReference(Output.Create(operatorSecret), InstanceSettings.AdminPasswordKeyInExistingSecret, Optional: true);
        }
        else
        {
            var (password, secretName) = AdminSecret(name, args.Namespace, settings);
            AdminPassword = password;
            AdminPasswordSecret = new SecretKeyReference(secretName, AdminPasswordKey, Optional: false);
        }

        var scripts = new CoreV1.ConfigMap($"{name}-scripts", new ConfigMapArgs
        {
            Metadata = new ObjectMetaArgs { Namespace = args.Namespace, Labels = Labels.For("migration-gate") },
            Data =
            {
                [MigrationScripts.DbInitFileName] = MigrationScripts.DbInit,
                [MigrationScripts.WaitForMigrationsFileName] = MigrationScripts.WaitForMigrations,
            },
        }, childOptions);

        EnvironmentConfigMapName = environment.Metadata.Apply(m => m.Name);
        ScriptsConfigMapName = scripts.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?>
        {
            ["environmentConfigMapName"] = EnvironmentConfigMapName,
            ["secretName"] = SecretName,
            ["scriptsConfigMapName"] = ScriptsConfigMapName,
        });
    }

    private const string AdminPasswordKey = "password";

    /// <summary>The first administrator's password, when the program holds it (not in an operator's Secret).</summary>
    public Output<string>? AdminPassword { get; }

    /// <summary>Where the migration reads the first administrator's password from.</summary>
    public SecretKeyReference AdminPasswordSecret { get; }

    public Output<string> EnvironmentConfigMapName { get; }

    public Output<string> SecretName { get; }

    public Output<string> ScriptsConfigMapName { get; }

    /// <summary>
    /// The first administrator's password, given or generated, in a Secret of its own that only the
    /// migration reads: no PieFed process needs it. Protected like SECRET_KEY: replacing it would
    /// leave the stack output saying a password that the account does not have.
    /// </summary>
    private (Output<string> Password, Output<string> SecretName) AdminSecret(string name, Input<string> ns, PieFedSettings settings)
    {
        var password = settings.Admin.Password ?? new RandomPassword($"{name}-admin-password", new RandomPasswordArgs
        {
            Length = 24,
            Special = false,
        }, new CustomResourceOptions { Parent = this, Protect = settings.ProtectData }).Result;
        var secret = new CoreV1.Secret($"{name}-admin", new SecretArgs
        {
            Metadata = new ObjectMetaArgs { Namespace = ns, Labels = Labels.For("admin") },
            Type = "Opaque",
            StringData = { [AdminPasswordKey] = password },
        }, new CustomResourceOptions { Parent = this });
        return (Output.CreateSecret(password), secret.Metadata.Apply(m => m.Name));
    }

    /// <summary>The app's secrets, generated or from config, for stacks that do not bring their own Secret.</summary>
    private CoreV1.Secret AppSecret(string name, Input<string> ns, PieFedSettings settings, ConnectionSecrets connections, InputMap<string> labels)
    {
        // A new SECRET_KEY logs every user out: only an explicit rotation may replace it (docs/operations.md).
        var secretKey = settings.SecretKey ?? new RandomPassword($"{name}-secret-key", new RandomPasswordArgs
        {
            Length = 64,
            Special = false,
        }, new CustomResourceOptions { Parent = this, Protect = settings.ProtectData }).Result;

        var data = new InputMap<string>
        {
            ["SECRET_KEY"] = secretKey,
            ["DATABASE_URL"] = connections.DatabaseUrl,
            ["CACHE_REDIS_URL"] = connections.CacheRedisUrl,
            ["CELERY_BROKER_URL"] = connections.CeleryBrokerUrl,
        };
        if (settings.Media.S3 is { AccessKey: { } accessKey, AccessSecret: { } accessSecret })
        {
            data.Add("S3_ACCESS_KEY", accessKey);
            data.Add("S3_ACCESS_SECRET", accessSecret);
        }

        foreach (var (variable, value) in settings.SecretEnvironment)
        {
            data.Add(variable, value);
        }

        return new CoreV1.Secret($"{name}-secrets", new SecretArgs
        {
            Metadata = new ObjectMetaArgs { Namespace = ns, Labels = labels },
            Type = "Opaque",
            StringData = data,
        }, new CustomResourceOptions { Parent = this });
    }

    /// <summary>The environment every PieFed container reads from the ConfigMap.</summary>
    internal static Dictionary<string, string> Environment(PieFedSettings settings)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SERVER_NAME"] = settings.ServerName,
            ["HTTP_PROTOCOL"] = "https",
            // PieFed's default is a file cache per pod, which would give every replica a different view.
            ["CACHE_TYPE"] = "RedisCache",
        };
        if (settings.Media.S3 is { } s3)
        {
            data["S3_REGION"] = s3.Region;
            data["S3_BUCKET"] = s3.Bucket;
            if (s3.Endpoint is not null)
            {
                data["S3_ENDPOINT"] = s3.Endpoint;
            }

            if (s3.PublicUrl is not null)
            {
                data["S3_PUBLIC_URL"] = s3.PublicUrl;
            }
        }

        foreach (var (key, value) in PieFedImage.EntrypointEnvironment.Concat(settings.ExtraEnvironment))
        {
            data[key] = value;
        }

        // The app sends votes and live notifications through its notifications service when this
        // names the instance's own URL; the Ingress routes /notifications/stream there.
        if (settings.Notifications is not null)
        {
            data["NOTIF_SERVER"] = $"{data["HTTP_PROTOCOL"]}://{settings.ServerName}";
        }

        return data;
    }
}
