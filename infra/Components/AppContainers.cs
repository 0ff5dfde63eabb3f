using System.Globalization;
using PieFed.Infra.Configuration;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;

namespace PieFed.Infra.Components;

/// <summary>
/// The containers that run PieFed's long-lived processes, each from <see cref="PieFedImage"/>'s
/// facts and the operator's settings: web, worker, notifications and the community-search refresh.
/// </summary>
internal static class AppContainers
{
    /// <summary>How long gunicorn lets requests in flight finish after SIGTERM (its --graceful-timeout).</summary>
    public const int WebGracefulTimeoutSeconds = 30;

    /// <summary>The kubelet's SIGKILL must come after gunicorn's own deadline, never before it.</summary>
    public const int WebTerminationGracePeriodSeconds = WebGracefulTimeoutSeconds + 15;

    public static ContainerArgs Web(AppRuntime runtime, WebSettings web)
    {
        var container = runtime.Container("web", PieFedImage.WebCommand(web.GunicornWorkers, WebGracefulTimeoutSeconds), web.Resources);
        container.Ports.Add(new ContainerPortArgs { Name = WebEndpoint.PortName, ContainerPortValue = PieFedImage.WebPort });
        // /health answers 6-9 s after gunicorn starts (measured with v1.7.7): the startup probe allows 5 minutes.
        container.StartupProbe = HealthProbe(WebEndpoint.PortName, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60);
        // A saturated pod leaves the Service after 30 s of slow answers and comes back when it recovers ...
        container.ReadinessProbe = HealthProbe(WebEndpoint.PortName, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3);
        // ... and is restarted only when it has not answered for 3 minutes, well past that.
        container.LivenessProbe = HealthProbe(WebEndpoint.PortName, periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 6);
        return container;
    }

    public static ContainerArgs Worker(AppRuntime runtime, WorkerSettings worker)
    {
        var container = runtime.Container("worker", PieFedImage.WorkerCommand(worker.Concurrency), worker.Resources);
        // Whether celery's pool is alive, read from /proc: no broker round trip (`celery inspect ping`
        // failed during every Redis outage and restarted every worker) and no second app-importing
        // process (~180 MiB for each ping, measured), so it fits the container's budget.
        container.LivenessProbe = new ProbeArgs
        {
            Exec = new ExecActionArgs { Command = { "python3", "-c", WorkerPoolAlive } },
            InitialDelaySeconds = 60,
            PeriodSeconds = 60,
            TimeoutSeconds = 10,
            FailureThreshold = 3,
        };
        return container;
    }

    /// <summary>
    /// Succeeds while PID 1 (celery's main process, which the container's command starts) has a
    /// child that is not a zombie: the prefork pool. A worker whose pool died is restarted.
    /// </summary>
    internal const string WorkerPoolAlive = """
        import os, sys

        def stat(pid):
            try:
                return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                return ["X", "0"]

        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
        sys.exit(0 if any(state != "Z" and parent == "1" for state, parent, *_ in map(stat, pids)) else 1)
        """;

    public static ContainerArgs Notifications(AppRuntime runtime, NotificationsSettings notifications)
    {
        var container = runtime.Container(NotificationsEndpoint.Component, PieFedImage.NotificationsCommand, notifications.Resources, mountsMedia: false);
        container.Ports.Add(new ContainerPortArgs { Name = NotificationsEndpoint.PortName, ContainerPortValue = PieFedImage.NotificationsPort });
        // /health answers whether Redis is up or not: a probe proves the event loop answers, and a
        // Redis outage restarts nothing. Streams stay open for hours, so the probes use requests of their own.
        container.ReadinessProbe = HealthProbe(NotificationsEndpoint.PortName, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3);
        container.LivenessProbe = HealthProbe(NotificationsEndpoint.PortName, periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 6);
        return container;
    }

    /// <summary>The refresh can boot the app once (~350 MiB) while it runs; it idles in a shell's sleep.</summary>
    private static readonly ResourceSettings CommunitySearchResources = new("10m", "64Mi", "500m", "512Mi");

    /// <summary>
    /// The community suggestions and the disposable-email list live in app/static/tmp, a per-pod
    /// volume, so each web pod refreshes its own copy. Beside gunicorn, never before it: the
    /// download needs egress and may fail, which is logged and retried at the next refresh while
    /// the pod serves.
    /// </summary>
    public static ContainerArgs CommunitySearchSidecar(AppRuntime runtime, int refreshHours)
        => runtime.Container("community-search", ["sh", "-c", CommunitySearchLoop(refreshHours)], CommunitySearchResources, mountsMedia: false);

    internal static string CommunitySearchLoop(int refreshHours)
        => string.Create(CultureInfo.InvariantCulture, $$"""
            trap 'exit 0' TERM
            while true; do
              if {{PieFedImage.CommunitySearchCommand}}; then
                echo "community-search: refreshed app/static/tmp; next refresh in {{refreshHours}} h"
              else
                echo "community-search: the refresh failed (exit $?); the previous files stay; next try in {{refreshHours}} h" >&2
              fi
              sleep {{refreshHours * 3600}} & wait $!
            done
            """);

    private static ProbeArgs HealthProbe(string port, int periodSeconds, int timeoutSeconds, int failureThreshold)
        => new()
        {
            HttpGet = new HTTPGetActionArgs { Path = PieFedImage.HealthPath, Port = port },
            PeriodSeconds = periodSeconds,
            TimeoutSeconds = timeoutSeconds,
            FailureThreshold = failureThreshold,
        };
}
