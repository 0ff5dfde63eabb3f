using System.Text.Json.Nodes;
using Pulumi;

namespace PieFed.Infra.Configuration;

/// <summary>What a stack deploys: one instance, through one Kubernetes provider.</summary>
public sealed record StackSettings(PieFedSettings Instance, ProviderSettings Provider);

/// <summary>The cluster the explicit Kubernetes provider talks to, or the directory it renders YAML to.</summary>
/// <param name="Context">The kubeconfig context; null for the kubeconfig's current one (development only).</param>
/// <param name="Kubeconfig">A kubeconfig path or its contents; null for the default ($KUBECONFIG or ~/.kube/config).</param>
/// <param name="UpsertExistingObjects">Let the provider take over objects that already exist (adopting the old YAML setup).</param>
public sealed record ProviderSettings(string? Context, Output<string>? Kubeconfig, RenderSettings? Render, bool UpsertExistingObjects);

/// <summary>Write plain YAML for GitOps instead of talking to a cluster.</summary>
public sealed record RenderSettings(string Directory, bool AllowPlaintextSecrets);

/// <summary>
/// The one place that reads stack configuration: <c>piefed:*</c> keys are the instance's inputs
/// (<see cref="PieFedInstanceArgs"/>), checked by the same code as the component's, and
/// <c>kubernetes:*</c>, <c>piefed:render</c> and <c>piefed:adoption.upsertExistingObjects</c>
/// configure the provider. Every problem is reported at once, before anything is registered.
/// </summary>
public static class StackConfiguration
{
    /// <summary>The Kubernetes provider's own configuration namespace, which Pulumi users set the cluster in.</summary>
    public const string KubernetesConfigNamespace = "kubernetes";

    private const string Namespace = InstanceSettings.ConfigNamespace;
    private const string UpsertField = "upsertExistingObjects";
    private static readonly string[] RenderFields = ["directory", "allowPlaintextSecrets"];

    /// <summary>
    /// The keys whose values the stack stores encrypted, as the .NET language host hands them to the
    /// program (pulumi-dotnet v3.112.1, pulumi-language-dotnet/main.go, <c>constructEnv</c>: a JSON
    /// list, "[]" when there are none); null when the program was not started by it.
    /// </summary>
    public const string EncryptedKeysVariable = "PULUMI_CONFIG_SECRET_KEYS";

    /// <summary>Reads the stack's configuration from Pulumi: secret keys through its secret API.</summary>
    public static StackSettings Read()
    {
        var config = new Config(Namespace);
        var kubernetes = new Config(KubernetesConfigNamespace);
        var encrypted = Environment.GetEnvironmentVariable(EncryptedKeysVariable) is { } list
            ? JsonNode.Parse(list)!.AsArray().Select(k => k!.GetValue<string>()).ToHashSet(StringComparer.Ordinal)
            : null;
        return Read(
            config.Get,
            key => Reveal(config.GetSecret(key)),
            key => key == "kubeconfig" ? Reveal(kubernetes.GetSecret(key)) : kubernetes.Get(key),
            encrypted is null ? null : key => encrypted.Contains($"{Namespace}:{key}"));
    }

    /// <param name="get">The raw value of <c>piefed:&lt;key&gt;</c>, or null when the key is unset.</param>
    /// <param name="getSecret">The same for the keys that hold secrets; by default <paramref name="get"/>.</param>
    /// <param name="getKubernetes">The raw value of <c>kubernetes:&lt;key&gt;</c>; by default every key is unset.</param>
    /// <param name="isEncrypted">Whether the stack stores <c>piefed:&lt;key&gt;</c> encrypted; null when that is not known, and not checked.</param>
    public static StackSettings Read(Func<string, string?> get, Func<string, string?>? getSecret = null, Func<string, string?>? getKubernetes = null, Func<string, bool>? isEncrypted = null)
    {
        ArgumentNullException.ThrowIfNull(get);
        getSecret ??= get;
        getKubernetes ??= _ => null;
        var errors = new List<string>();

        var (adoption, upsertExistingObjects) = SplitAdoption(get("adoption"), errors);
        var fields = InputShape.Of(typeof(PieFedInstanceArgs)).ToDictionary(f => f.Name);
        string? Input(string key) => key == "adoption" ? adoption : fields[key].IsSecret ? getSecret(key) : get(key);
        var inputs = new InstanceInputs(Input, key => Secret(key, Input));

        var settings = InstanceSettings.Read(inputs, errors);
        if (isEncrypted is not null)
        {
            // The project file cannot ask the CLI to refuse these in plaintext: a key it declares
            // secret must be set in every stack (pulumi/pulumi pkg/workspace/config.go, mergeConfig),
            // and each of these is needed by some stacks only.
            foreach (var credential in fields.Values.Where(f => f.Type == typeof(Input<string>) && getSecret(f.Name) is not null && !isEncrypted(f.Name)))
            {
                errors.Add($"{Namespace}:{credential.Name} is stored in plaintext in the stack's configuration file, where whoever reads the repository reads it; expected it encrypted: `pulumi config set --secret {Namespace}:{credential.Name}`.");
            }
        }

        var render = ReadRender(ConfigSection.Parse($"{Namespace}:render", get("render"), RenderFields, errors));
        var (context, kubeconfig) = ReadCluster(getKubernetes, get("environment") == "production", render, errors);
        if (render is { AllowPlaintextSecrets: false } && settings is not null
            && (settings.ExistingSecret is null || settings.DataServices is BundledDataServices))
        {
            var bundled = settings.DataServices is BundledDataServices;
            errors.Add($"{Namespace}:render.directory: rendering to \"{render.Directory}\" would write the app's secrets"
                + (bundled ? " and the bundled servers' generated passwords" : "")
                + $" into the YAML in plaintext; expected {Namespace}:existingSecret naming a Secret you manage (SOPS, sealed-secrets, external-secrets)"
                + (bundled ? $" with {Namespace}:bundledServices.enabled false" : "")
                + $", or {Namespace}:render.allowPlaintextSecrets: true.");
        }

        if (render is not null && settings is { Maintenance.Enabled: true } && (settings.Web.Autoscaling is not null || settings.Worker.Autoscaling is not null))
        {
            errors.Add($"{Namespace}:maintenance.enabled is true while {Namespace}:render.directory is set and an autoscaler owns the replicas of web or worker: holding such a Deployment at 0 takes a second manifest of it (a patch), which Flux's kustomize refuses; expected {Namespace}:web.autoscaling.enabled and {Namespace}:worker.autoscaling.enabled false while in maintenance.");
        }

        if (render is not null && settings?.Maintenance.Restore is not null)
        {
            errors.Add($"{Namespace}:maintenance.restore is set while {Namespace}:render.directory is: Flux applies every rendered object at once, so nothing would order the restore before the migration; expected no restore here, and the restore template run by hand (docs/gitops.md, \"Maintenance and restoring\").");
        }

        if (errors.Count > 0)
        {
            throw new InvalidConfigException($"The stack configuration has {errors.Count} problem(s); nothing was deployed", errors);
        }

        return new StackSettings(settings!, new ProviderSettings(context, kubeconfig, render, upsertExistingObjects));
    }

    /// <summary>
    /// <c>piefed:adoption</c> holds the instance's <c>legacyNames</c> and the provider's
    /// <c>upsertExistingObjects</c>: the second is read here, the rest goes to the instance.
    /// </summary>
    private static (string? Remainder, bool Upsert) SplitAdoption(string? raw, List<string> errors)
    {
        if (raw is null || !TryParseObject(raw, out var adoption) || !adoption.ContainsKey(UpsertField))
        {
            return (raw, false);
        }

        var upsert = new JsonObject { [UpsertField] = adoption[UpsertField]?.DeepClone() };
        adoption.Remove(UpsertField);
        var section = ConfigSection.Parse($"{Namespace}:adoption", upsert.ToJsonString(), [UpsertField], errors);
        return (adoption.ToJsonString(), section.Bool(UpsertField, false));
    }

    /// <summary>A credential, or one entry of <c>piefed:secretEnv</c> (<c>secretEnv.NAME</c>).</summary>
    private static SecretInput? Secret(string key, Func<string, string?> input)
    {
        var text = key.Split('.', 2) switch
        {
            [var map, var entry] => TryParseObject(input(map), out var entries) && entries[entry] is JsonValue value
                ? value.TryGetValue<string>(out var s) ? s : value.ToJsonString()
                : null,
            _ => input(key),
        };
        return text is null ? null : new SecretInput(Output.CreateSecret(text), text);
    }

    private static bool TryParseObject(string? raw, out JsonObject result)
    {
        result = [];
        try
        {
            if (raw is not null && JsonNode.Parse(raw) is JsonObject parsed)
            {
                result = parsed;
                return true;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not structured: the instance's own checks name the key.
        }

        return false;
    }

    /// <summary>
    /// The cluster the stack deploys to. An explicit Kubernetes provider reads neither
    /// <c>kubernetes:context</c> nor <c>kubernetes:kubeconfig</c> by itself (only the default provider
    /// does), so the program passes them on; production refuses to rely on whatever context the
    /// shell happens to point at.
    /// </summary>
    private static (string? Context, Output<string>? Kubeconfig) ReadCluster(Func<string, string?> getKubernetes, bool production, RenderSettings? render, List<string> errors)
    {
        var context = getKubernetes("context");
        var kubeconfig = getKubernetes("kubeconfig");
        if (context is { Length: 0 } || (context is not null && string.IsNullOrWhiteSpace(context)))
        {
            errors.Add($"{KubernetesConfigNamespace}:context: an empty context is not allowed; expected the name of a context in your kubeconfig.");
            context = null;
        }
        else if (context is null && production && render is null)
        {
            errors.Add($"{KubernetesConfigNamespace}:context is required in production; expected the name of the production cluster's context in your kubeconfig"
                + $" (`pulumi config set {KubernetesConfigNamespace}:context <name>`), so that `pulumi up` never deploys production to whatever cluster the current context points at.");
        }

        return (context, string.IsNullOrWhiteSpace(kubeconfig) ? null : Output.CreateSecret(kubeconfig));
    }

    /// <summary>Config values are known when the program starts; the inputs keep them as Pulumi secrets.</summary>
    private static string? Reveal(Output<string>? secret)
        => secret is null ? null : Pulumi.Utilities.OutputUtilities.GetValueAsync(secret).GetAwaiter().GetResult();

    private static RenderSettings? ReadRender(ConfigSection section)
    {
        var directory = section.String("directory", null, IsRelativeDirectory, "a relative directory without \"..\", e.g. \"rendered\" (the provider resolves it from the program's folder, infra/)");
        var allowPlaintextSecrets = section.Bool("allowPlaintextSecrets", false);
        return directory is null ? null : new RenderSettings(directory, allowPlaintextSecrets);
    }

    private static bool IsRelativeDirectory(string value)
        => !string.IsNullOrWhiteSpace(value) && !Path.IsPathRooted(value) && !value.Split('/', '\\').Contains("..");
}
