using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// The Kubernetes "restricted" Pod Security Standard, which the namespace enforces: every pod and
/// container of the instance is built from these.
/// </summary>
internal static class Security
{
    /// <summary>The PieFed image's own user, <c>python</c>.</summary>
    public const int PieFedUser = 1000;

    public static PodSecurityContextArgs Pod(int user)
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
