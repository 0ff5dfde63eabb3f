using PieFed.Infra.Scripts;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Rbac.V1;
using CoreV1 = Pulumi.Kubernetes.Core.V1;
using RbacV1 = Pulumi.Kubernetes.Rbac.V1;

namespace PieFed.Infra.Components;

public sealed class MigrationRbacArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    /// <summary>The name of the ServiceAccount, Role and RoleBinding alike.</summary>
    public string AccountName { get; init; } = MigrationRbac.DefaultAccountName;
}

/// <summary>
/// The identity of the wait-for-migrations init containers, in its own namespace only: it may read
/// and watch Jobs (to wait for this release's migration), list pods and read their logs (to print a
/// failed migration's output), and list Jobs, pods and ReplicaSets and delete Jobs (to prune the
/// migration Jobs no pod can wait for any more). RBAC cannot narrow a list or a delete to one
/// component's Jobs; the script deletes only old migration Jobs that finished and nothing refers to.
/// </summary>
public sealed class MigrationRbac : ComponentResource
{
    public const string DefaultAccountName = "piefed-migration-waiter";

    /// <summary>What the old YAML setup called the same three objects.</summary>
    public const string LegacyAccountName = "piefed-init-checker";

    public MigrationRbac(string name, MigrationRbacArgs args, ComponentResourceOptions? options = null)
        : base("piefed:migration:MigrationRbac", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var childOptions = new CustomResourceOptions { Parent = this };
        var labels = Labels.For("migration-waiter");

        var account = new CoreV1.ServiceAccount($"{name}-account", new ServiceAccountArgs
        {
            Metadata = new ObjectMetaArgs { Name = args.AccountName, Namespace = args.Namespace, Labels = labels },
            // The token is projected into the init container alone; nothing else in the pod gets one.
            AutomountServiceAccountToken = false,
        }, childOptions);

        var role = new RbacV1.Role($"{name}-role", new RoleArgs
        {
            Metadata = new ObjectMetaArgs { Name = args.AccountName, Namespace = args.Namespace, Labels = labels },
            // Exactly what the waiter declares it requests (API_PERMISSIONS in the script): read and watch
            // its Job; on failure, list the Job's pods and read their logs; once it completed, list the
            // migration Jobs, the pods and ReplicaSets that may wait for them, and delete the unneeded ones.
            Rules = RulesGranting(MigrationScripts.WaitForMigrationsApiPermissions()),
        }, childOptions);

        Binding = new RbacV1.RoleBinding($"{name}-binding", new RoleBindingArgs
        {
            Metadata = new ObjectMetaArgs { Name = args.AccountName, Namespace = args.Namespace, Labels = labels },
            RoleRef = new RoleRefArgs
            {
                ApiGroup = "rbac.authorization.k8s.io",
                Kind = "Role",
                Name = role.Metadata.Apply(m => m.Name),
            },
            Subjects =
            {
                new SubjectArgs
                {
                    Kind = "ServiceAccount",
                    Name = account.Metadata.Apply(m => m.Name),
                    Namespace = args.Namespace,
                },
            },
        }, childOptions);

        ServiceAccountName = account.Metadata.Apply(m => m.Name);
        RegisterOutputs(new Dictionary<string, object?>
        {
            ["serviceAccountName"] = ServiceAccountName,
            ["roleBindingName"] = Binding.Metadata.Apply(m => m.Name),
        });
    }

    public Output<string> ServiceAccountName { get; }

    /// <summary>One rule per resource, with its verbs, in the order the permissions are declared.</summary>
    private static InputList<PolicyRuleArgs> RulesGranting(IEnumerable<ApiAccess> permissions)
    {
        var rules = new InputList<PolicyRuleArgs>();
        foreach (var resource in permissions.GroupBy(permission => (permission.Group, permission.Resource)))
        {
            rules.Add(new PolicyRuleArgs
            {
                ApiGroups = { resource.Key.Group },
                Resources = { resource.Key.Resource },
                Verbs = resource.Select(permission => permission.Verb).ToArray(),
            });
        }

        return rules;
    }

    /// <summary>Pods that wait for the migration start only after this exists, or their first API call is refused.</summary>
    public RbacV1.RoleBinding Binding { get; }
}
