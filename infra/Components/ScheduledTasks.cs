using System.Collections.Immutable;
using PieFed.Infra.Configuration;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Batch.V1;
using Pulumi.Kubernetes.Types.Inputs.Core.V1;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using BatchV1 = Pulumi.Kubernetes.Batch.V1;

namespace PieFed.Infra.Components;

public sealed class ScheduledTasksArgs : ResourceArgs
{
    public required Input<string> Namespace { get; init; }

    public required IReadOnlyList<ScheduledTask> Tasks { get; init; }

    public required AppRuntime Runtime { get; init; }

    public required MigrationGate Gate { get; init; }

    public required ResourceSettings Resources { get; init; }

    /// <summary>Maintenance: no new run starts (one already running finishes).</summary>
    public bool Suspended { get; init; }
}

/// <summary>
/// PieFed's periodic commands as CronJobs, replacing <c>CRON=true</c> (which runs them once per
/// replica). Every run is gated on the release's migration like any other pod, and a run never
/// overlaps the previous one.
/// </summary>
public sealed class ScheduledTasks : ComponentResource
{
    public const string Component = "scheduled-task";

    /// <summary>A wedged run gives way to the next schedule instead of blocking it for ever.</summary>
    private const int RunDeadlineSeconds = 3000;

    public ScheduledTasks(string name, ScheduledTasksArgs args, ComponentResourceOptions? options = null)
        : base("piefed:app:ScheduledTasks", name, options)
    {
        ArgumentNullException.ThrowIfNull(args);
        var labels = Labels.For(Component);
        var names = new List<Output<string>>();

        foreach (var task in args.Tasks)
        {
            var spec = args.Runtime.PodSpec(args.Runtime.Container(task.Name, task.Command, args.Resources), args.Gate, mountsMedia: true);
            var cronJob = CronJob($"{name}-{task.Name}", $"piefed-{task.Name}", args.Namespace, labels, task.Schedule, spec, this, args.Suspended);
            names.Add(cronJob.Metadata.Apply(m => m.Name));
        }

        CronJobNames = Output.All(names);
        RegisterOutputs(new Dictionary<string, object?> { ["cronJobNames"] = CronJobNames });
    }

    public Output<System.Collections.Immutable.ImmutableArray<string>> CronJobNames { get; }

    /// <summary>A CronJob whose runs never overlap and never retry: the next schedule is the retry.</summary>
    /// <param name="suspend">True while the instance is in maintenance, and always for a template that only an operator runs, with <c>kubectl create job --from</c>.</param>
    /// <param name="deadlineSeconds">How long one run may take; by default, until shortly before a wedged run would block the next.</param>
    internal static BatchV1.CronJob CronJob(
        string name, string objectName, Input<string> ns, ImmutableDictionary<string, string> labels, string schedule, PodSpecArgs spec, Resource parent,
        bool suspend = false, int deadlineSeconds = RunDeadlineSeconds)
    {
        spec.RestartPolicy = "Never";
        return new BatchV1.CronJob(name, new CronJobArgs
        {
            Metadata = new ObjectMetaArgs { Name = objectName, Namespace = ns, Labels = labels },
            Spec = new CronJobSpecArgs
            {
                Schedule = schedule,
                Suspend = suspend ? true : null,
                ConcurrencyPolicy = "Forbid",
                StartingDeadlineSeconds = 300,
                SuccessfulJobsHistoryLimit = 1,
                FailedJobsHistoryLimit = 3,
                JobTemplate = new JobTemplateSpecArgs
                {
                    Spec = new JobSpecArgs
                    {
                        BackoffLimit = 0,
                        ActiveDeadlineSeconds = deadlineSeconds,
                        Template = new PodTemplateSpecArgs
                        {
                            Metadata = new ObjectMetaArgs { Labels = labels },
                            Spec = spec,
                        },
                    },
                },
            },
        }, new CustomResourceOptions { Parent = parent });
    }
}
