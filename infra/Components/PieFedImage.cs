using System.Collections.Immutable;

namespace PieFed.Infra.Components;

/// <summary>
/// What the program relies on in PieFed's image and scripts, each fact read from upstream at v1.7.7
/// (codeberg.org/rimu/pyfedi, tag v1.7.7).
/// </summary>
internal static class PieFedImage
{
    /// <summary>
    /// The environment upstream's scripts export before they call <c>flask</c> (entrypoint.sh,
    /// entrypoint_celery.sh, daily.sh, send_queue.sh, email_notifs.sh, remove_orphan_files.sh: each
    /// <c>export FLASK_APP=pyfedi.py</c>). The Dockerfile's ENV does not set it, and every PieFed
    /// container here replaces the entrypoint, so the app's environment must carry it: without it
    /// Flask finds the <c>app</c> package's factory, which knows <c>flask db</c> but none of PieFed's
    /// own commands (<c>init-db</c>, <c>send-queue</c>, ...), registered by pyfedi.py.
    /// </summary>
    public static readonly ImmutableSortedDictionary<string, string> EntrypointEnvironment =
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new KeyValuePair<string, string>("FLASK_APP", "pyfedi.py")]);

    /// <summary>
    /// Upstream's periodic commands and their schedules (docker.cron at v1.7.7), one CronJob each,
    /// by the input (<c>cron.&lt;key&gt;</c>) that reschedules or disables it.
    /// </summary>
    public static readonly ImmutableArray<ScheduledCommand> ScheduledCommands =
    [
        new("dailyMaintenance", "daily-maintenance", "5 2 * * *", ["flask", "daily-maintenance"]),
        new("sendQueue", "send-queue", "* * * * *", ["flask", "send-queue"]),
        new("sendMissedNotifications", "send-missed-notifs", "*/30 * * * *", ["flask", "send_missed_notifs"]),
        new("processEmailBounces", "process-email-bounces", "*/30 * * * *", ["flask", "process_email_bounces"]),
        new("cleanUpOldActivities", "clean-up-old-activities", "*/30 * * * *", ["flask", "clean_up_old_activities"]),
        new("removeOrphanFiles", "remove-orphan-files", "5 4 * * 1", ["flask", "remove_orphan_files"]),
    ];
}

internal sealed record ScheduledCommand(string Key, string Name, string Schedule, ImmutableArray<string> Command);
