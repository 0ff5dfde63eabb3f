using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// The Kubernetes "restricted" Pod Security Standard, which the namespace enforces: every pod and
/// container of the instance is built from these.
/// </summary>
internal static class Security
{
    /// <summary>
    /// Every pod of the instance starts from this: the restricted standard, no API token (the
    /// migration gate mounts its own into its init container) and no service links, whose
    /// variables could shadow the app's own (a Service named <c>redis</c> sets <c>REDIS_PORT</c>).
    /// </summary>
    public static PodSpecArgs PodSpec(int user)
        => new()
        {
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            SecurityContext = Pod(user),
        };

    private static PodSecurityContextArgs Pod(int user)
        => new()
        {
            RunAsNonRoot = true,
            RunAsUser = user,
            RunAsGroup = user,
            FsGroup = user,
            // Without it the kubelet walks and re-owns the whole volume (all of media) at every pod start.
            FsGroupChangePolicy = "OnRootMismatch",
            SeccompProfile = new SeccompProfileArgs { Type = "RuntimeDefault" },
        };

    public static SecurityContextArgs Container()
        => new()
        {
            AllowPrivilegeEscalation = false,
            Capabilities = new CapabilitiesArgs { Drop = { "ALL" } },
        };
}
