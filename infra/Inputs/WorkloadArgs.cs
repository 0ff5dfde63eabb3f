using Pulumi;

namespace PieFed.Infra.Inputs;

public sealed class WebArgs : ResourceArgs
{
    [Input("replicas")]
    public int? Replicas { get; set; }

    [Input("resources")]
    public ResourcesArgs? Resources { get; set; }

    [Input("gunicornWorkers")]
    public int? GunicornWorkers { get; set; }

    [Input("autoscaling")]
    public WebAutoscalingArgs? Autoscaling { get; set; }
}

public sealed class WebAutoscalingArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("minReplicas")]
    public int? MinReplicas { get; set; }

    [Input("maxReplicas")]
    public int? MaxReplicas { get; set; }

    [Input("cpuUtilization")]
    public int? CpuUtilization { get; set; }

    [Input("memoryUtilization")]
    public int? MemoryUtilization { get; set; }
}

public sealed class WorkerArgs : ResourceArgs
{
    [Input("replicas")]
    public int? Replicas { get; set; }

    [Input("resources")]
    public ResourcesArgs? Resources { get; set; }

    [Input("concurrency")]
    public int? Concurrency { get; set; }

    [Input("terminationGracePeriodSeconds")]
    public int? TerminationGracePeriodSeconds { get; set; }

    [Input("autoscaling")]
    public WorkerAutoscalingArgs? Autoscaling { get; set; }
}

public sealed class WorkerAutoscalingArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("minReplicas")]
    public int? MinReplicas { get; set; }

    [Input("maxReplicas")]
    public int? MaxReplicas { get; set; }

    [Input("cpuUtilization")]
    public int? CpuUtilization { get; set; }

    /// <summary>Scale on the length of Celery's queues with KEDA instead of on CPU.</summary>
    [Input("keda")]
    public bool? Keda { get; set; }

    [Input("queueLength")]
    public int? QueueLength { get; set; }

    [Input("cooldownSeconds")]
    public int? CooldownSeconds { get; set; }
}

public sealed class MigrationArgs : ResourceArgs
{
    [Input("timeoutMinutes")]
    public int? TimeoutMinutes { get; set; }

    [Input("backoffLimit")]
    public int? BackoffLimit { get; set; }

    /// <summary>The longest a migration statement waits for a lock before the migration is rolled back and tried again.</summary>
    [Input("lockTimeoutSeconds")]
    public int? LockTimeoutSeconds { get; set; }

    [Input("resources")]
    public ResourcesArgs? Resources { get; set; }
}

public sealed class NotificationsArgs : ResourceArgs
{
    [Input("enabled")]
    public bool? Enabled { get; set; }

    [Input("replicas")]
    public int? Replicas { get; set; }

    [Input("resources")]
    public ResourcesArgs? Resources { get; set; }
}

public sealed class CommunitySearchArgs : ResourceArgs
{
    /// <summary>Hours between refreshes, 1 to 168, as text, or "disabled".</summary>
    [Input("refreshHours")]
    public string? RefreshHours { get; set; }
}

public sealed class ResourcesArgs : ResourceArgs
{
    [Input("requests")]
    public QuantitiesArgs? Requests { get; set; }

    [Input("limits")]
    public QuantitiesArgs? Limits { get; set; }
}

public sealed class QuantitiesArgs : ResourceArgs
{
    [Input("cpu")]
    public string? Cpu { get; set; }

    [Input("memory")]
    public string? Memory { get; set; }
}

/// <summary>Upstream's scheduled commands: a cron schedule each, or "disabled".</summary>
public sealed class CronArgs : ResourceArgs
{
    [Input("dailyMaintenance")]
    public string? DailyMaintenance { get; set; }

    [Input("sendQueue")]
    public string? SendQueue { get; set; }

    [Input("sendMissedNotifications")]
    public string? SendMissedNotifications { get; set; }

    [Input("processEmailBounces")]
    public string? ProcessEmailBounces { get; set; }

    [Input("cleanUpOldActivities")]
    public string? CleanUpOldActivities { get; set; }

    [Input("removeOrphanFiles")]
    public string? RemoveOrphanFiles { get; set; }
}
