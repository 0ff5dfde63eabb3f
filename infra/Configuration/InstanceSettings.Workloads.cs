using System.Collections.Immutable;
using System.Globalization;
using PieFed.Infra.Components;
using PieFed.Infra.Inputs;

namespace PieFed.Infra.Configuration;

/// <summary>The workloads: web, worker, notifications, the migration Job, and the scheduled commands.</summary>
internal static partial class InstanceSettings
{
    private static readonly ResourceSettings DefaultWebResources = new("250m", "512Mi", "2", "1Gi");
    private static readonly ResourceSettings DefaultWorkerResources = new("250m", "512Mi", "2", "1Gi");

    /// <summary>uvicorn with fastapi_server.py alone: Redis pub/sub and open streams, none of the Flask app.</summary>
    private static readonly ResourceSettings DefaultNotificationsResources = new("50m", "128Mi", "1", "512Mi");

    /// <summary>
    /// `flask db upgrade` and `init-db` boot the whole app once (a web worker's ~350 MiB, measured with
    /// PieFed v1.7.7); pg_dump and pg_restore stream and need little. Its own setting, so that
    /// resizing the workers never replaces the Job and re-runs a migration.
    /// </summary>
    private static readonly ResourceSettings DefaultMigrationResources = new("100m", "512Mi", "1", "1Gi");

    private static WebSettings ReadWeb(ConfigSection section)
    {
        // Every field is read, and so checked, whether the autoscaler is on or not.
        var autoscaling = section.Section<WebAutoscalingArgs>("autoscaling");
        var (minReplicas, maxReplicas) = ReadReplicaRange(autoscaling);
        var cpu = autoscaling.Int("cpuUtilization", 70, 10, 100);
        int? memory = autoscaling.Has("memoryUtilization") ? autoscaling.Int("memoryUtilization", 80, 10, 100) : null;
        return new(
            section.Int("replicas", 1, 0, 100),
            ReadResources(section, DefaultWebResources),
            // gunicorn.conf.py would count the node's CPUs, not the pod's limit.
            section.Int("gunicornWorkers", 4, 1, 32),
            autoscaling.Bool("enabled", false) ? new AutoscalingSettings(minReplicas, maxReplicas, cpu, memory) : null);
    }

    /// <summary>The longest scale-down stabilisation window the API server accepts for an HPA (autoscaling/v2 validation); KEDA's HPA is refused above it.</summary>
    private const int MaximumStabilizationWindowSeconds = 3600;

    private static WorkerSettings ReadWorker(ConfigSection section)
    {
        var autoscaling = section.Section<WorkerAutoscalingArgs>("autoscaling");
        var (minReplicas, maxReplicas) = ReadReplicaRange(autoscaling);
        var scaling = new WorkerAutoscalingSettings(minReplicas, maxReplicas, autoscaling.Int("cpuUtilization", 70, 10, 100), autoscaling.Bool("keda", false),
            autoscaling.Int("queueLength", 50, 1, 100000), autoscaling.Int("cooldownSeconds", 300, 30, MaximumStabilizationWindowSeconds));
        return new(
            section.Int("replicas", 1, 0, 100),
            ReadResources(section, DefaultWorkerResources),
            section.Int("concurrency", 4, 1, 64),
            section.Int("terminationGracePeriodSeconds", 300, 30, 3600),
            autoscaling.Bool("enabled", false) ? scaling : null);
    }

    private static (int Min, int Max) ReadReplicaRange(ConfigSection autoscaling)
    {
        var minReplicas = autoscaling.Int("minReplicas", 2, 1, 100);
        var maxReplicas = autoscaling.Int("maxReplicas", 10, 1, 100);
        if (maxReplicas < minReplicas)
        {
            autoscaling.Error("maxReplicas", $"\"{maxReplicas}\" is less than minReplicas \"{minReplicas}\"; expected at least {autoscaling.Path}.minReplicas.");
        }

        return (minReplicas, maxReplicas);
    }

    private static NotificationsSettings? ReadNotifications(ConfigSection section)
    {
        var notifications = new NotificationsSettings(section.Int("replicas", 1, 1, 20), ReadResources(section, DefaultNotificationsResources));
        return section.Bool("enabled", true) ? notifications : null;
    }

    private static int? ReadCommunitySearch(ConfigSection section)
    {
        var refresh = section.String("refreshHours", "24", v => v == "disabled" || (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var hours) && hours is >= 1 and <= 168),
            "a whole number of hours from 1 to 168, or \"disabled\"");
        return refresh is null or "disabled" ? null : int.Parse(refresh, CultureInfo.InvariantCulture);
    }

    private static ResourceSettings ReadResources(ConfigSection workload, ResourceSettings defaults)
    {
        var resources = workload.Section<ResourcesArgs>("resources");
        var requests = resources.Section<QuantitiesArgs>("requests");
        var limits = resources.Section<QuantitiesArgs>("limits");

        var cpuRequest = requests.String("cpu", defaults.CpuRequest, IsCpuQuantity, CpuAllowed)!;
        var memoryRequest = requests.String("memory", defaults.MemoryRequest, IsMemoryQuantity, MemoryAllowed)!;
        var cpuLimit = limits.String("cpu", defaults.CpuLimit, IsCpuQuantity, CpuAllowed)!;
        var memoryLimit = limits.String("memory", defaults.MemoryLimit, IsMemoryQuantity, MemoryAllowed)!;

        if (IsCpuQuantity(cpuRequest) && IsCpuQuantity(cpuLimit) && ParseQuantity(cpuRequest) > ParseQuantity(cpuLimit))
        {
            requests.Error("cpu", $"\"{cpuRequest}\" is more than the limit \"{cpuLimit}\"; expected a request no larger than {limits.Path}.cpu.");
        }

        if (IsMemoryQuantity(memoryRequest) && IsMemoryQuantity(memoryLimit) && ParseQuantity(memoryRequest) > ParseQuantity(memoryLimit))
        {
            requests.Error("memory", $"\"{memoryRequest}\" is more than the limit \"{memoryLimit}\"; expected a request no larger than {limits.Path}.memory.");
        }

        return new ResourceSettings(cpuRequest, memoryRequest, cpuLimit, memoryLimit);
    }

    private static MigrationSettings ReadMigration(ConfigSection section)
        => new(
            TimeSpan.FromMinutes(section.Int("timeoutMinutes", 10, 1, 120)),
            section.Int("backoffLimit", 3, 0, 20),
            ReadResources(section, DefaultMigrationResources),
            TimeSpan.FromSeconds(section.Int("lockTimeoutSeconds", 5, 1, 60)));

    private static ImmutableArray<ScheduledTask> ReadScheduledTasks(ConfigSection section)
    {
        const string allowed = "a cron schedule of five fields such as \"*/30 * * * *\", or \"disabled\"";
        var tasks = ImmutableArray.CreateBuilder<ScheduledTask>();
        foreach (var (key, name, upstreamSchedule, command) in PieFedImage.ScheduledCommands)
        {
            var schedule = section.String(key, upstreamSchedule, v => v == "disabled" || CronSchedule().IsMatch(v), allowed);
            if (schedule is not "disabled")
            {
                tasks.Add(new ScheduledTask(name, schedule!, command));
            }
        }

        return tasks.ToImmutable();
    }
}
