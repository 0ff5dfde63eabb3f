"""Holds a PieFed pod (as its init container) until this release's migration Job has completed.

Decides Complete / Failed itself from the Job's conditions, because `kubectl wait` ignores a failed
Job and blocks until its timeout. Watches the Job so that the pod is released as soon as the Job
completes, re-reading it whenever a watch ends.

Once the Job has completed, and before releasing the pod, deletes this instance's older migration Jobs
that no pod can wait for any more, so that under GitOps (where every release leaves its Job behind,
docs/gitops.md "Old migration Jobs") they do not pile up. Of the Jobs MIGRATION_JOBS_SELECTOR selects,
in order of creation, it keeps this release's Job, every newer one, and the one just before it (the
previous release, whose pods may still be recreated while this rollout finishes). An older one is
deleted only when it has finished (Complete, SuccessCriteriaMet, Failed or FailureTarget), no pod of
the namespace names it in a container's JOB_NAME, and no ReplicaSet scaled above 0 would create such a
pod. Best effort: the first error, or PRUNE_BUDGET_SECONDS running out, ends the pruning with one line
saying why, and the pod is released all the same.

  Complete (or SuccessCriteriaMet)   exit 0 at once
  Failed (or FailureTarget)          print the Job's pod logs and the failure reason, exit 1
  not found                          keep waiting: under GitOps the pods may exist before the Job
  not finished                       keep waiting, printing progress now and then
  401 / 403 / other 4xx              exit 1 with what is missing: waiting cannot grant a permission,
                                     and the kubelet restarts a failed init container with backoff
  5xx, 429, 410, network errors      retried (with a fresh read of the Job) until the deadline
  deadline passed                    print the Job's last known status, exit 1
  (pruning of old Jobs)              never changes the outcome: its errors are logged and it stops

Environment:
  JOB_NAME                         required: the exact name of this release's migration Job
  JOB_NAMESPACE                    default: the pod's namespace (SERVICEACCOUNT_DIR/namespace)
  WAIT_TIMEOUT_SECONDS             default 600
  WAIT_PROGRESS_INTERVAL_SECONDS   default 30
  WAIT_LOG_TAIL_LINES              default 100 (per container of each of the Job's pods)
  MIGRATION_JOBS_SELECTOR          the label selector of this instance's migration Jobs, e.g.
                                   app.kubernetes.io/name=piefed,app.kubernetes.io/component=db-init;
                                   unset: no old Job is pruned and no request is made for it
  SERVICEACCOUNT_DIR               default /var/run/secrets/kubernetes.io/serviceaccount
                                   (token, ca.crt, namespace)
  KUBERNETES_SERVICE_HOST/PORT     set by Kubernetes in every pod

RBAC for the pod's ServiceAccount, in the Job's namespace: the rules in API_PERMISSIONS below, which
the Pulumi program builds the Role from and a 403 message lists: reading and watching its Job, listing
a failed Job's pods and reading their logs, and for the pruning listing Jobs, pods and ReplicaSets and
deleting Jobs.

Exit codes: 0 complete, 1 failed or gave up, 2 misconfigured, 143 stopped by SIGTERM (as PID 1
of a container, Python would otherwise ignore SIGTERM).

Standard library only: it runs in the stock PieFed image, which has no kubectl.
"""

import http.client
import json
import math
import os
import signal
import ssl
import sys
import time
import urllib.parse

DEFAULT_SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_PROGRESS_INTERVAL_SECONDS = 30.0
DEFAULT_LOG_TAIL_LINES = 100
REQUEST_TIMEOUT_SECONDS = 10.0
# The API server ends a watch after its timeoutSeconds; one silent for this much longer is dead.
WATCH_SILENCE_GRACE_SECONDS = 5.0
FIRST_RETRY_DELAY_SECONDS = 0.5
LONGEST_RETRY_DELAY_SECONDS = 5.0
# Pruning delays the pod's start; a slow API server must not hold it for long.
PRUNE_BUDGET_SECONDS = 15.0
SUCCESS_CONDITIONS = ("Complete", "SuccessCriteriaMet")
# Since Kubernetes 1.31 a failing Job gets FailureTarget first and Failed only once its pods are gone;
# either one means the Job will not succeed.
FAILURE_CONDITIONS = ("Failed", "FailureTarget")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
# How a pod names the Job its gate waits for: this script's own setting, in the waiter's container.
JOB_REFERENCE_VARIABLE = "JOB_NAME"
# Every request the gate makes to the Kubernetes API, by what it is for, with the RBAC rule it needs
# in the Job's namespace: (verb, resource, API group). Each request names its entry, so none can be
# made without being declared here; the Pulumi program reads this literal to build the waiter's Role
# (MigrationRbac.cs), so it stays a plain dict of string triples, one entry a line.
# Kubernetes authorizes a GET as "get" for one object, "list" for a collection and "watch" with
# watch=true (the watch of a collection narrowed to the Job by a metadata.name fieldSelector needs
# "watch", not "list"), and a DELETE of one object as "delete"
# (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
API_PERMISSIONS = {
    "read_job": ("get", "jobs", "batch"),
    "watch_job": ("watch", "jobs", "batch"),
    "list_job_pods": ("list", "pods", ""),
    "read_pod_log": ("get", "pods/log", ""),
    "list_migration_jobs": ("list", "jobs", "batch"),
    "list_namespace_pods": ("list", "pods", ""),
    "list_replicasets": ("list", "replicasets", "apps"),
    "delete_old_job": ("delete", "jobs", "batch"),
}


class ConfigurationError(Exception):
    pass


class Fatal(Exception):
    """Waiting longer cannot help."""


class Transient(Exception):
    """Worth retrying until the deadline."""


class NotFound(Fatal):
    """Only a missing Job is worth waiting for; the caller reading it says so."""


class Conflict(Fatal):
    """A precondition failed: the object is not the one the request named; the caller deleting it says what then."""


def log(message):
    print(f"wait-for-migrations: {message}", flush=True)


def one_line(text):
    return " ".join(str(text).split())


def read_positive_number(name, default, parse):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}")
    return value


def describe_permission(verb, resource, group):
    return f"{verb} {resource}.{group}" if group else f"{verb} {resource}"


class Permission:
    """What a request needs from RBAC, its entry in API_PERMISSIONS, to name it when the API server says 403."""

    def __init__(self, purpose, namespace):
        self.verb, self.resource, self.group = API_PERMISSIONS[purpose]
        self.namespace = namespace

    def explain_denial(self, server_message):
        denied = describe_permission(self.verb, self.resource, self.group)
        needed = ", ".join(describe_permission(*rule) for rule in dict.fromkeys(API_PERMISSIONS.values()))
        return (
            f"403 Forbidden: the pod's ServiceAccount may not {denied} in namespace {self.namespace}"
            f" ({server_message}). Grant it with a Role in {self.namespace} having the rule"
            f' {{apiGroups: ["{self.group}"], resources: ["{self.resource}"], verbs: ["{self.verb}"]}}'
            f" and a RoleBinding of that Role to the pod's ServiceAccount. The gate needs, in all: {needed}."
        )


class KubernetesApi:
    def __init__(self, host, port, credentials_dir):
        self.host = host
        self.port = port
        self.address = f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"
        self.token_path = os.path.join(credentials_dir, "token")
        self.ca_path = os.path.join(credentials_dir, "ca.crt")

    def open(self, method, path, query, permission, timeout, body=None):
        """Sends a request and returns (connection, response) for a 2xx answer; raises otherwise."""
        try:
            # Read on every request: projected ServiceAccount tokens are rotated by the kubelet.
            with open(self.token_path, encoding="utf-8") as token_file:
                token = token_file.read().strip()
            context = ssl.create_default_context(cafile=self.ca_path)
        except OSError as error:
            raise Fatal(
                f"cannot read the ServiceAccount credentials ({error.filename}: {error.strerror});"
                " the pod needs its ServiceAccount token mounted (automountServiceAccountToken)"
            ) from None
        target = f"{path}?{urllib.parse.urlencode(query)}" if query else path
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPSConnection(self.host, self.port, context=context, timeout=timeout)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            if 200 <= response.status < 300:
                return connection, response
            message = server_message(response.read())
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise Fatal(
                f"the API server at {self.address} failed TLS verification against {self.ca_path}:"
                f" {error.verify_message}"
            ) from None
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise Transient(f"cannot reach the Kubernetes API at {self.address}: {one_line(error)}") from None
        connection.close()
        request = f"{method} {path}"
        if response.status == 404:
            raise NotFound(f"the API server answered 404 Not Found to {request}: {message}")
        if response.status == 409:
            raise Conflict(f"the API server answered 409 Conflict to {request}: {message}")
        if response.status == 401:
            raise Fatal(
                f"401 Unauthorized: the API server at {self.address} rejected the ServiceAccount token"
                f" from {self.token_path} ({message})"
            )
        if response.status == 403:
            raise Fatal(permission.explain_denial(message))
        # 410 Gone: the resourceVersion to watch from has expired; a fresh read supplies a new one.
        if response.status in (410, 429) or response.status >= 500:
            raise Transient(f"the API server answered {response.status} {response.reason} to {request}: {message}")
        raise Fatal(f"the API server answered {response.status} {response.reason} to {request}: {message}")

    def send(self, method, path, query, permission, timeout, body=None):
        """Sends a request and returns the body of its 2xx answer; raises otherwise."""
        connection, response = self.open(method, path, query, permission, timeout, body)
        try:
            return response.read()
        except (OSError, http.client.HTTPException) as error:
            raise Transient(f"unreadable answer to {method} {path}: {one_line(error)}") from None
        finally:
            connection.close()

    def get(self, path, query, permission, timeout=REQUEST_TIMEOUT_SECONDS):
        return self.send("GET", path, query, permission, timeout)

    def get_json(self, path, query, permission, timeout=REQUEST_TIMEOUT_SECONDS):
        body = self.get(path, query, permission, timeout)
        try:
            return json.loads(body)
        except ValueError as error:
            raise Transient(f"unreadable answer to GET {path}: {one_line(error)}") from None

    def delete(self, path, options, permission, timeout):
        self.send("DELETE", path, None, permission, timeout, json.dumps(options).encode("utf-8"))


def server_message(body):
    text = body.decode("utf-8", errors="replace")
    try:
        return one_line(json.loads(text)["message"])
    except (ValueError, KeyError, TypeError):
        return one_line(text)[:500]


class JobState:
    WAITING = "waiting"
    COMPLETE = "complete"
    FAILED = "failed"

    def __init__(self, job):
        self.job = job
        if job is None:
            self.outcome = self.WAITING
            self.summary = "not found yet (it may be created after this pod); waiting"
            return
        status = job.get("status") or {}
        true_conditions = [c for c in status.get("conditions") or [] if c.get("status") == "True"]
        self.failure = next((c for c in true_conditions if c.get("type") in FAILURE_CONDITIONS), None)
        success = next((c for c in true_conditions if c.get("type") in SUCCESS_CONDITIONS), None)
        counts = ", ".join(f"{key}={status.get(key, 0)}" for key in ("active", "ready", "succeeded", "failed"))
        if self.failure is not None:
            self.outcome = self.FAILED
            self.summary = (
                f"FAILED ({self.failure['type']}: {self.failure.get('reason', 'no reason')}:"
                f" {self.failure.get('message', 'no message')}; {counts})"
            )
        elif success is not None:
            self.outcome = self.COMPLETE
            self.summary = f"complete ({success['type']}; {counts})"
        else:
            self.outcome = self.WAITING
            shown = ", ".join(c.get("type", "?") for c in true_conditions)
            self.summary = f"not finished ({counts}{'; conditions: ' + shown if shown else ''})"

    @property
    def resource_version(self):
        return ((self.job or {}).get("metadata") or {}).get("resourceVersion")


class Gate:
    def __init__(self, api, namespace, job_name, timeout, progress_interval, log_tail_lines, old_jobs):
        self.api = api
        self.namespace = namespace
        self.job_name = job_name
        self.timeout = timeout
        self.progress_interval = progress_interval
        self.log_tail_lines = log_tail_lines
        self.old_jobs = old_jobs
        self.reference = f"{namespace}/{job_name}"
        self.jobs_path = f"/apis/batch/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/jobs"
        self.last_summary = "never read (the API server did not answer)"
        self.last_line_at = time.monotonic()

    def report(self, state):
        if state.summary != self.last_summary:
            log(f"Job {self.reference}: {state.summary}")
            self.last_summary = state.summary
            self.last_line_at = time.monotonic()
        return state

    def report_progress(self, deadline):
        now = time.monotonic()
        if now - self.last_line_at >= self.progress_interval:
            log(f"still waiting for Job {self.reference}: {self.last_summary}; {max(deadline - now, 0):.0f} s left")
            self.last_line_at = now

    def read_job(self):
        try:
            job = self.api.get_json(
                f"{self.jobs_path}/{urllib.parse.quote(self.job_name, safe='')}",
                None,
                Permission("read_job", self.namespace),
            )
        except NotFound:
            job = None
        return self.report(JobState(job))

    def watch_job(self, resource_version, remaining):
        """Follows the Job until it finishes or the watch ends; returns the last state seen, if any."""
        watch_seconds = math.ceil(min(self.progress_interval, remaining))
        query = {"fieldSelector": f"metadata.name={self.job_name}", "watch": "true", "timeoutSeconds": watch_seconds}
        # Without a resourceVersion the API server first replays the Job as it is now, so a Job
        # created between the 404 and this watch is not missed.
        if resource_version:
            query["resourceVersion"] = resource_version
        connection, response = self.api.open(
            "GET",
            self.jobs_path,
            query,
            Permission("watch_job", self.namespace),
            watch_seconds + WATCH_SILENCE_GRACE_SECONDS,
        )
        try:
            while True:
                line = response.readline()
                if not line:
                    return None
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    log(
                        f"the watch ended with an error ({status.get('code')} {status.get('reason')}:"
                        f" {status.get('message')}); reading the Job again"
                    )
                    return None
                state = self.report(JobState(None if event.get("type") == "DELETED" else event.get("object")))
                if state.outcome != JobState.WAITING:
                    return state
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise Transient(f"the watch of Job {self.reference} broke: {one_line(error)}") from None
        finally:
            connection.close()

    def wait(self):
        deadline = time.monotonic() + self.timeout
        retry_delay = FIRST_RETRY_DELAY_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Fatal(
                    f"gave up after {self.timeout:g} s (WAIT_TIMEOUT_SECONDS); Job {self.reference} last known"
                    f" status: {self.last_summary}"
                )
            try:
                state = self.read_job()
                if state.outcome == JobState.WAITING:
                    state = self.watch_job(state.resource_version, remaining) or state
                retry_delay = FIRST_RETRY_DELAY_SECONDS
            except Transient as error:
                pause = min(retry_delay, remaining)
                log(f"{error}; retrying in {pause:.1f} s")
                time.sleep(pause)
                retry_delay = min(retry_delay * 2, LONGEST_RETRY_DELAY_SECONDS)
                continue
            if state.outcome == JobState.COMPLETE:
                if self.old_jobs is not None:
                    self.old_jobs.prune()
                log("migrations done; releasing the pod")
                return 0
            if state.outcome == JobState.FAILED:
                self.print_failure(state)
                raise Fatal(
                    f"the migration Job {self.reference} failed (see above), so this pod will not start."
                    " Fix the cause, then run the release again (a failed Job must be replaced to run again)"
                )
            self.report_progress(deadline)

    def print_failure(self, state):
        log(
            f"the migration Job {self.reference} failed: {state.failure.get('reason', 'no reason')}:"
            f" {state.failure.get('message', 'no message')}"
        )
        for pod in self.job_pods():
            self.print_pod_logs(pod)

    def job_pods(self):
        pods_path = f"/api/v1/namespaces/{urllib.parse.quote(self.namespace, safe='')}/pods"
        for label in JOB_NAME_LABELS:
            try:
                pods = (
                    self.api.get_json(
                        pods_path,
                        {"labelSelector": f"{label}={self.job_name}"},
                        Permission("list_job_pods", self.namespace),
                    ).get("items")
                    or []
                )
            except (Fatal, Transient) as error:
                log(f"cannot list the Job's pods to show their logs: {error}")
                return []
            if pods:
                return sorted(pods, key=lambda pod: (pod.get("metadata") or {}).get("creationTimestamp") or "")
        log(f"no pod of Job {self.reference} is left to show logs from")
        return []

    def print_pod_logs(self, pod):
        pod_name = pod["metadata"]["name"]
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        container_states = {
            s.get("name"): s
            for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
        }
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            name = container["name"]
            header = f"pod {pod_name}, container {name} ({describe_container_state(container_states.get(name))})"
            try:
                text = self.api.get(
                    f"/api/v1/namespaces/{urllib.parse.quote(self.namespace, safe='')}/pods/"
                    f"{urllib.parse.quote(pod_name, safe='')}/log",
                    {"container": name, "tailLines": self.log_tail_lines},
                    Permission("read_pod_log", self.namespace),
                ).decode("utf-8", errors="replace")
            except (Fatal, Transient) as error:
                log(f"cannot read the logs of {header}: {error}")
                continue
            print(f"----- logs of {header}, last {self.log_tail_lines} lines -----", flush=True)
            print(text.rstrip("\n"), flush=True)
            print(f"----- end of logs of pod {pod_name}, container {name} -----", flush=True)


class OldJobs:
    """This instance's migration Jobs from before the previous release, deleted once nothing can wait for them."""

    def __init__(self, api, namespace, own_job_name, selector):
        self.api = api
        self.namespace = namespace
        self.own_job_name = own_job_name
        self.selector = selector
        quoted_namespace = urllib.parse.quote(namespace, safe="")
        self.jobs_path = f"/apis/batch/v1/namespaces/{quoted_namespace}/jobs"
        self.pods_path = f"/api/v1/namespaces/{quoted_namespace}/pods"
        self.replicasets_path = f"/apis/apps/v1/namespaces/{quoted_namespace}/replicasets"
        self.deadline = None

    def prune(self):
        self.deadline = time.monotonic() + PRUNE_BUDGET_SECONDS
        try:
            self.delete_unneeded()
        except (Fatal, Transient) as error:
            log(f"stopped pruning old migration Jobs, the pod starts all the same: {error}")
        # An answer of an unexpected shape, or a flaw here, must not keep every pod from starting.
        except Exception as error:
            log(f"stopped pruning old migration Jobs, the pod starts all the same: {type(error).__name__}: {error}")

    def delete_unneeded(self):
        jobs = sorted(
            self.list_items(self.jobs_path, {"labelSelector": self.selector}, "list_migration_jobs"),
            key=lambda job: (job["metadata"]["creationTimestamp"], job["metadata"]["name"]),
        )
        names = [job["metadata"]["name"] for job in jobs]
        if self.own_job_name not in names:
            log(f"pruning no old migration Job: Job {self.own_job_name} is not among those labelled {self.selector}")
            return
        # The own Job and newer ones are kept, and so is the one just before: the previous release's pods
        # may still be recreated (a drain, a crash) until this release's rollout has finished.
        finished = []
        for job in jobs[: max(names.index(self.own_job_name) - 1, 0)]:
            if JobState(job).outcome == JobState.WAITING:
                # Deleting a running Job would kill its migration midway.
                log(f"kept old migration Job {self.describe(job)}: it has not finished")
            else:
                finished.append(job)
        if not finished:
            return
        waiters = self.waiters()
        for job in finished:
            waiting = waiters.get(job["metadata"]["name"])
            if waiting:
                others = f" and {len(waiting) - 1} more" if len(waiting) > 1 else ""
                log(f"kept old migration Job {self.describe(job)}: {waiting[0]}{others} names it in JOB_NAME")
            else:
                self.delete(job)

    def waiters(self):
        """Who may still wait for which Job: pods whose containers name it, and ReplicaSets that would create them."""
        waiters = {}
        for replicaset in self.list_items(self.replicasets_path, None, "list_replicasets"):
            spec = replicaset.get("spec") or {}
            # Unset means 1; only at 0 does a ReplicaSet create no pod.
            replicas = spec.get("replicas", 1)
            if replicas != 0:
                for name in waited_for_jobs((spec.get("template") or {}).get("spec") or {}):
                    waiters.setdefault(name, []).append(
                        f"ReplicaSet {replicaset['metadata'].get('name')} ({replicas} replicas)"
                    )
        for pod in self.list_items(self.pods_path, None, "list_namespace_pods"):
            for name in waited_for_jobs(pod.get("spec") or {}):
                waiters.setdefault(name, []).append(f"pod {pod['metadata'].get('name')}")
        return waiters

    def delete(self, job):
        metadata = job["metadata"]
        # batch/v1 orphans a Job's pods unless told otherwise (kubernetes pkg/registry/batch/job/strategy.go at
        # 36f3681, DefaultGarbageCollectionPolicy: OrphanDependents for batch/v1 "for back compatibility"). The uid
        # keeps a Job created again under the same name from being deleted.
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
            "preconditions": {"uid": metadata["uid"]},
        }
        try:
            self.api.delete(
                f"{self.jobs_path}/{urllib.parse.quote(metadata['name'], safe='')}",
                options,
                Permission("delete_old_job", self.namespace),
                self.time_left(),
            )
        except NotFound:
            log(f"old migration Job {self.describe(job)} was already deleted")
            return
        except Conflict:
            log(f"kept migration Job {self.namespace}/{metadata['name']}: it was replaced since it was listed")
            return
        log(f"deleted old migration Job {self.describe(job)}, {JobState(job).outcome}, and its pods")

    def list_items(self, path, query, purpose):
        answer = self.api.get_json(path, query, Permission(purpose, self.namespace), self.time_left())
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("metadata"), dict) for item in items
        ):
            raise Transient(f"unreadable answer to GET {path}: not a list of objects with metadata")
        return items

    def time_left(self):
        """What is left of the budget for the next request, at most a request's usual timeout."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Transient(f"its {PRUNE_BUDGET_SECONDS:g} s (PRUNE_BUDGET_SECONDS) are spent")
        return min(remaining, REQUEST_TIMEOUT_SECONDS)

    def describe(self, job):
        metadata = job["metadata"]
        return f"{self.namespace}/{metadata['name']} (created {metadata['creationTimestamp']})"


def waited_for_jobs(pod_spec):
    """The Jobs a pod's gate waits for: what its containers are given in JOB_NAME."""
    names = set()
    for container in (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or []):
        for variable in container.get("env") or []:
            if variable.get("name") == JOB_REFERENCE_VARIABLE and variable.get("value"):
                names.add(variable["value"])
    return names


def describe_container_state(container_status):
    for phase, details in ((container_status or {}).get("state") or {}).items():
        facts = ", ".join(f"{key} {details[key]}" for key in ("exitCode", "reason", "message") if key in details)
        return f"{phase}: {facts}" if facts else phase
    return "no status"


def read_gate():
    job_name = os.environ.get("JOB_NAME", "").strip()
    if not job_name:
        raise ConfigurationError("JOB_NAME is not set (the exact name of this release's migration Job)")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "").strip()
    if not host or not port:
        raise ConfigurationError(
            "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod?"
        )
    credentials_dir = os.environ.get("SERVICEACCOUNT_DIR", "").strip() or DEFAULT_SERVICEACCOUNT_DIR
    namespace = os.environ.get("JOB_NAMESPACE", "").strip()
    if not namespace:
        namespace_path = os.path.join(credentials_dir, "namespace")
        try:
            with open(namespace_path, encoding="utf-8") as namespace_file:
                namespace = namespace_file.read().strip()
        except OSError as error:
            raise ConfigurationError(
                f"JOB_NAMESPACE is not set and {namespace_path} cannot be read: {error.strerror}"
            ) from None
    api = KubernetesApi(host, read_positive_number("KUBERNETES_SERVICE_PORT", None, int), credentials_dir)
    selector = os.environ.get("MIGRATION_JOBS_SELECTOR", "").strip()
    return Gate(
        api,
        namespace,
        job_name,
        read_positive_number("WAIT_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, float),
        read_positive_number("WAIT_PROGRESS_INTERVAL_SECONDS", DEFAULT_PROGRESS_INTERVAL_SECONDS, float),
        read_positive_number("WAIT_LOG_TAIL_LINES", DEFAULT_LOG_TAIL_LINES, int),
        OldJobs(api, namespace, job_name, selector) if selector else None,
    )


def stop_on_sigterm(_signum, _frame):
    # os.write, not print: the signal may interrupt a print in progress.
    os.write(sys.stdout.fileno(), b"wait-for-migrations: stopped by SIGTERM\n")
    sys.exit(143)


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        gate = read_gate()
    except ConfigurationError as error:
        print(f"wait-for-migrations: configuration error: {error}", file=sys.stderr, flush=True)
        return 2
    log(f"waiting up to {gate.timeout:g} s for Job {gate.reference} via {gate.api.address}")
    try:
        return gate.wait()
    except Fatal as error:
        print(f"wait-for-migrations: FAILED: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
