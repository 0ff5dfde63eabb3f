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

    /// <summary>
    /// How long a stopping pod keeps serving before its server is told to stop. The kubelet sends
    /// SIGTERM as soon as the pod is marked terminating, while the endpoint's removal still has to
    /// reach kube-proxy and every ingress controller; a server that stops accepting at once gets
    /// requests routed to a closed port (502s on every rollout and drain). The pause is the
    /// image's busybox <c>sleep</c> (python:3.13-alpine), as an exec hook: the <c>sleep</c> action
    /// of preStop is not available on every cluster we support (1.28 and later).
    /// </summary>
    public const int PreStopPauseSeconds = 15;

    /// <summary>The kubelet's SIGKILL comes after the pause and gunicorn's own deadline, never before them.</summary>
    public const int WebTerminationGracePeriodSeconds = PreStopPauseSeconds + WebGracefulTimeoutSeconds + 5;

    /// <summary>
    /// How long uvicorn lets connections finish after SIGTERM (its --timeout-graceful-shutdown,
    /// uvicorn 0.35.0 in upstream's requirements.txt). The event streams never end by themselves:
    /// without it uvicorn waits for them until the kubelet kills it; with it clients reconnect
    /// to another pod at once.
    /// </summary>
    public const int NotificationsGracefulTimeoutSeconds = 10;

    public const int NotificationsTerminationGracePeriodSeconds = PreStopPauseSeconds + NotificationsGracefulTimeoutSeconds + 5;

    public static ContainerArgs Web(AppRuntime runtime, WebSettings web)
    {
        var container = runtime.Container("web", PieFedImage.WebCommand(web.GunicornWorkers, WebGracefulTimeoutSeconds), web.Resources);
        container.Ports.Add(new ContainerPortArgs { Name = WebEndpoint.PortName, ContainerPortValue = PieFedImage.WebPort });
        // Liveness and start-up ask whether gunicorn answers, through a path that touches neither
        // the database nor Redis: an outage of either must take pods out of the Service, never
        // restart them (restarted pods would then be held back by their start-up probe for the
        // rest of the outage). Readiness asks whether a request can be served, through /health.
        // gunicorn answers 6-9 s after it starts (measured with v1.7.7): start-up allows 5 minutes.
        container.StartupProbe = Probe(PieFedImage.LivenessPath, WebEndpoint.PortName, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60);
        // A saturated pod or one cut from its data leaves the Service after 30 s and comes back when it recovers ...
        container.ReadinessProbe = Probe(PieFedImage.HealthPath, WebEndpoint.PortName, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3);
        // ... and is restarted only when no worker has answered for 3 minutes, well past that.
        container.LivenessProbe = Probe(PieFedImage.LivenessPath, WebEndpoint.PortName, periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 6);
        container.Lifecycle = PauseBeforeStopping();
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
        var command = PieFedImage.NotificationsCommand.Concat(["--timeout-graceful-shutdown", NotificationsGracefulTimeoutSeconds.ToString(CultureInfo.InvariantCulture)]);
        var container = runtime.Container(NotificationsEndpoint.Component, command, notifications.Resources, mountsMedia: false);
        container.Ports.Add(new ContainerPortArgs { Name = NotificationsEndpoint.PortName, ContainerPortValue = PieFedImage.NotificationsPort });
        // /health answers whether Redis is up or not: a probe proves the event loop answers, and a
        // Redis outage restarts nothing. Streams stay open for hours, so the probes use requests of their own.
        container.ReadinessProbe = Probe(PieFedImage.HealthPath, NotificationsEndpoint.PortName, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3);
        container.LivenessProbe = Probe(PieFedImage.HealthPath, NotificationsEndpoint.PortName, periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 6);
        container.Lifecycle = PauseBeforeStopping();
        return container;
    }

    /// <summary>
    /// Every refresh boots the whole app: any <c>flask</c> command of v1.7.7 was measured at
    /// 250-350 MiB of working set, so the request covers the peak (a request of the idle shell's
    /// few MiB would let the scheduler overcommit the node at every refresh) and the limit leaves
    /// room for the downloads being parsed.
    /// </summary>
    internal static readonly ResourceSettings CommunitySearchResources = new("50m", "384Mi", "500m", "512Mi");

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

    private static LifecycleArgs PauseBeforeStopping()
        => new()
        {
            PreStop = new LifecycleHandlerArgs
            {
                Exec = new ExecActionArgs { Command = { "sleep", PreStopPauseSeconds.ToString(CultureInfo.InvariantCulture) } },
            },
        };

    private static ProbeArgs Probe(string path, string port, int periodSeconds, int timeoutSeconds, int failureThreshold)
        => new()
        {
            HttpGet = new HTTPGetActionArgs { Path = path, Port = port },
            PeriodSeconds = periodSeconds,
            TimeoutSeconds = timeoutSeconds,
            FailureThreshold = failureThreshold,
        };
}
