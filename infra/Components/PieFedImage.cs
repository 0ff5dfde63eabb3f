using System.Collections.Immutable;
using System.Globalization;

namespace PieFed.Infra.Components;

/// <summary>
/// PieFed's contract with this program: what it relies on in PieFed's image and scripts, each fact
/// read from upstream at v1.7.7 (codeberg.org/rimu/pyfedi, tag v1.7.7, the file named beside it).
/// Nothing else in the program states a fact about PieFed.
/// </summary>
internal static class PieFedImage
{
    /// <summary>Where upstream CI publishes PieFed's images, tagged like its releases (.woodpecker.yaml: <c>IMAGE_REPO="codeberg.org/$CI_REPO"</c>, the git tag).</summary>
    public const string DefaultRepository = "codeberg.org/rimu/pyfedi";

    /// <summary>The app's directory (Dockerfile: <c>WORKDIR /app</c>), which every script <c>cd</c>s to.</summary>
    public const string AppDirectory = "/app";

    /// <summary>The image's user (Dockerfile: <c>adduser -D python</c> on python:3.13-alpine, Alpine's first uid; <c>USER python</c>).</summary>
    public const int User = 1000;

    /// <summary>gunicorn's port (gunicorn.conf.py: <c>bind = '0.0.0.0:5000'</c>; Dockerfile: <c>EXPOSE 5000</c>).</summary>
    public const int WebPort = 5000;

    /// <summary>uvicorn's port for the notifications service (entrypoint_async.sh: <c>--port 8000</c>).</summary>
    public const int NotificationsPort = 8000;

    /// <summary>The notifications service's Server-Sent Events stream (fastapi_server.py: <c>@app.get("/notifications/stream")</c>).</summary>
    public const string NotificationsStreamPath = "/notifications/stream";

    /// <summary>
    /// The health check of both servers, which says whether a pod can serve. The web app's view
    /// returns 'Ok' (app/main/routes.py), but the request first passes <c>before_request</c>
    /// (pyfedi.py), which loads the site row (<c>get_site_as_dict</c>, memoized for 60 s) and
    /// <c>admin_ids</c> (cached in Redis, else a query): so it fails while PostgreSQL or Redis is
    /// down, which is what readiness must say and what liveness must not. <c>/health2</c> runs heavy
    /// queries and is never a probe. fastapi_server.py's answers 200 whether Redis is up or not.
    /// </summary>
    public const string HealthPath = "/health";

    /// <summary>
    /// A path that only proves a web worker answers: pyfedi.py's <c>before_request</c> skips
    /// everything under <c>/static/</c> (<c>if request.path != '/inbox' and not
    /// request.path.startswith('/static/')</c>), so Flask serves this file without the database or
    /// Redis. The file is in the image (app/static/browserconfig.xml; Dockerfile:
    /// <c>COPY --chown=python:python . /app</c>, and .dockerignore leaves out only app/static/media).
    /// </summary>
    public const string LivenessPath = "/static/browserconfig.xml";

    /// <summary>The Celery queues upstream's worker consumes (entrypoint_celery.sh: <c>--queues=celery,background,send</c>).</summary>
    public static readonly ImmutableArray<string> WorkerQueues = ["celery", "background", "send"];

    /// <summary>
    /// Where PieFed writes, by volume name: uploads, the per-pod downloads of
    /// <c>populate_community_search</c> and logs (compose.yaml's volumes), and gunicorn's worker
    /// heartbeat files (gunicorn.conf.py: <c>worker_tmp_dir = '/dev/shm'</c>).
    /// </summary>
    public static readonly ImmutableArray<(string Volume, string Path)> WritablePaths =
    [
        (MediaVolume, "/app/app/static/media"),
        ("tmp", "/app/app/static/tmp"),
        ("logs", "/app/logs"),
        ("dshm", "/dev/shm"),
    ];

    public const string MediaVolume = "media";

    /// <summary>
    /// The environment upstream's scripts export before they call <c>flask</c> (entrypoint.sh,
    /// daily.sh, send_queue.sh, email_notifs.sh, remove_orphan_files.sh: each
    /// <c>export FLASK_APP=pyfedi.py</c>). The Dockerfile's ENV does not set it, and every PieFed
    /// container here replaces the entrypoint, so the app's environment must carry it: without it
    /// Flask finds the <c>app</c> package's factory, which knows <c>flask db</c> but none of PieFed's
    /// own commands (<c>init-db</c>, <c>send-queue</c>, ...), registered by pyfedi.py.
    /// </summary>
    public static readonly ImmutableSortedDictionary<string, string> EntrypointEnvironment =
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new KeyValuePair<string, string>("FLASK_APP", "pyfedi.py")]);

    /// <summary>
    /// gunicorn as entrypoint.sh starts it (<c>gunicorn --config gunicorn.conf.py --preload pyfedi:app</c>),
    /// with the worker count the operator chose: gunicorn.conf.py counts the node's CPUs, not the pod's share.
    /// </summary>
    public static IReadOnlyList<string> WebCommand(int workers, int gracefulTimeoutSeconds)
        =>
        [
            "gunicorn", "--config", "gunicorn.conf.py",
            "--workers", workers.ToString(CultureInfo.InvariantCulture),
            "--graceful-timeout", gracefulTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            "--preload", "pyfedi:app",
        ];

    /// <summary>Celery as entrypoint_celery.sh starts it, with the concurrency the operator chose.</summary>
    public static IReadOnlyList<string> WorkerCommand(int concurrency)
        =>
        [
            "celery", "-A", "celery_worker_docker.celery", "worker",
            $"--concurrency={concurrency.ToString(CultureInfo.InvariantCulture)}",
            $"--queues={string.Join(',', WorkerQueues)}",
        ];

    /// <summary>The notifications service as entrypoint_async.sh starts it.</summary>
    public static readonly ImmutableArray<string> NotificationsCommand =
        ["uvicorn", "fastapi_server:app", "--host", "0.0.0.0", "--port", NotificationsPort.ToString(CultureInfo.InvariantCulture)];

    /// <summary>
    /// Writes the community suggestions and the disposable-email list into app/static/tmp
    /// (app/cli.py: <c>populate_community_search</c>).
    /// </summary>
    public const string CommunitySearchCommand = "flask populate_community_search";

    /// <summary>
    /// Upstream's periodic commands and their schedules (docker.cron; email_notifs.sh runs three
    /// commands every 30 minutes), one CronJob each, by the input (<c>cron.&lt;key&gt;</c>) that
    /// reschedules or disables it.
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
