using System.Text.Json.Nodes;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

/// <summary>The notifications service, the community search data, and autoscaling, as the program declares them.</summary>
public sealed class ScaleAndCompletenessTests
{
    private const string HorizontalPodAutoscalerType = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
    private const string ScaledObjectType = "kubernetes:keda.sh/v1alpha1:ScaledObject";
    private const string TriggerAuthenticationType = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication";

    [Fact]
    public async Task Notifications_RunUpstreamsCommandWithoutTheGateAndAreProbedOnHealth()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var pod = run.Deployment("notifications").Inputs.At("spec.template.spec")!;
        var container = Assert.Single(pod.Objects("containers"));
        Assert.Equal(["uvicorn", "fastapi_server:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "10"], Strings(container, "command"));
        Assert.Equal(8000, container.At("ports[0].containerPort")!.GetValue<double>());
        Assert.Empty(pod.Objects("initContainers"));
        Assert.False(pod.At("automountServiceAccountToken")!.GetValue<bool>());
        Assert.Equal("/health", container.Str("readinessProbe.httpGet.path"));
        Assert.True(Number(container, "livenessProbe.periodSeconds") * Number(container, "livenessProbe.failureThreshold")
            > Number(container, "readinessProbe.periodSeconds") * Number(container, "readinessProbe.failureThreshold"));
        var service = Assert.Single(run.OfType(ServiceType), s => s.Name == "piefed-notifications").Inputs;
        Assert.Equal(8000, service.At("spec.ports[0].port")!.GetValue<double>());
        Assert.Equal("notifications", service.Str("spec.selector['app.kubernetes.io/component']"));
    }

    [Fact]
    public async Task Notifications_StreamPathIsRoutedWithStreamingSettingsAndTheWebCertificate()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var ingress = Assert.Single(run.OfType(IngressType), i => i.Name == "piefed-notifications").Inputs;
        var rule = ingress.At("spec.rules[0]")!;
        Assert.Equal("piefed.example.org", rule.Str("host"));
        Assert.Equal("/notifications/stream", rule.Str("http.paths[0].path"));
        Assert.Equal("piefed-notifications", rule.Str("http.paths[0].backend.service.name"));
        Assert.Equal("nginx", ingress.Str("spec.ingressClassName"));
        Assert.Equal("piefed-tls", ingress.Str("spec.tls[0].secretName"));
        Assert.Equal("off", ingress.Str("metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering']"));
        Assert.Equal("3600", ingress.Str("metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']"));
        Assert.Equal("3600", ingress.Str("metadata.annotations['nginx.ingress.kubernetes.io/proxy-send-timeout']"));
        Assert.Null(ingress.At("metadata.annotations['cert-manager.io/cluster-issuer']"));
    }

    [Theory]
    [InlineData("prod", "https://piefed.example.org")]
    [InlineData("dev", "http://piefed.localhost")]
    public async Task Notifications_AreNamedToTheAppByItsOwnUrl(string stack, string expected)
    {
        var run = await ProgramAsync(StackInventoryTests.Config(stack));

        Assert.Equal(expected, StackInventoryTests.Environment(run)["NOTIF_SERVER"]);
    }

    [Fact]
    public async Task NotificationsDisabled_RegisterNothingAndLeaveNotifServerUnset()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("notifications", "enabled", false));

        Assert.DoesNotContain(run.Registrations, r => r.Name.Contains("notifications", StringComparison.Ordinal));
        Assert.DoesNotContain("NOTIF_SERVER", StackInventoryTests.Environment(run).Keys);
    }

    [Fact]
    public async Task CommunitySearch_IsRefreshedBesideEveryWebPodAndNeverBeforeIt()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("communitySearch", "refreshHours", 6));

        var pod = run.Deployment("web").Inputs.At("spec.template.spec")!;
        Assert.Equal("wait-for-migrations", Assert.Single(pod.Objects("initContainers")).Str("name"));
        var sidecar = Assert.Single(pod.Objects("containers"), c => c.Str("name") == "community-search");
        var script = Strings(sidecar, "command")[2];
        Assert.Contains("flask populate_community_search", script, StringComparison.Ordinal);
        Assert.Contains("sleep 21600", script, StringComparison.Ordinal);
        Assert.Contains(sidecar.Objects("volumeMounts"), m => m.Str("name") == "tmp" && m.Str("mountPath") == "/app/app/static/tmp");
        Assert.Contains(pod.Objects("containers[0].volumeMounts"), m => m.Str("name") == "tmp" && m.Str("mountPath") == "/app/app/static/tmp");
    }

    [Fact]
    public async Task CommunitySearchDisabled_LeavesTheWebPodAlone()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("communitySearch", "refreshHours", "disabled"));

        Assert.Equal(["web"], run.Deployment("web").Inputs.Objects("spec.template.spec.containers").Select(c => c.Str("name")!));
    }

    [Fact]
    public async Task WebAutoscaling_OwnsTheReplicaCountAndKeepsABudget()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("web", new
        {
            replicas = 2,
            autoscaling = new { enabled = true, minReplicas = 3, maxReplicas = 12, cpuUtilization = 60, memoryUtilization = 85 },
        }));

        Assert.Equal(3, Number(run.Deployment("web").Inputs, "spec.replicas"));
        var hpa = Assert.Single(run.OfType(HorizontalPodAutoscalerType)).Inputs;
        Assert.Equal("piefed-web", hpa.Str("spec.scaleTargetRef.name"));
        Assert.Equal("Deployment", hpa.Str("spec.scaleTargetRef.kind"));
        Assert.Equal(3, Number(hpa, "spec.minReplicas"));
        Assert.Equal(12, Number(hpa, "spec.maxReplicas"));
        Assert.Equal(["cpu:60", "memory:85"], hpa.Objects("spec.metrics").Select(m => $"{m.Str("resource.name")}:{Number(m, "resource.target.averageUtilization")}"));
        Assert.Single(run.OfType(PodDisruptionBudgetType), b => b.Name == "piefed-web-budget");
    }

    [Fact]
    public async Task WorkerWithKeda_ScalesOnEveryCeleryQueueWithThePasswordOnlyInASecret()
    {
        var run = await ProgramAsync(StackConfig.Prod.With("redisPassword", "queue-password-5d1e").With("worker", new
        {
            replicas = 1,
            autoscaling = new { enabled = true, minReplicas = 1, maxReplicas = 20, keda = true, queueLength = 30, cooldownSeconds = 600 },
        }));

        Assert.Equal(1, Number(run.Deployment("worker").Inputs, "spec.replicas"));
        Assert.Empty(run.OfType(HorizontalPodAutoscalerType));
        var scaled = Assert.Single(run.OfType(ScaledObjectType)).Inputs;
        Assert.Equal("piefed-worker", scaled.Str("spec.scaleTargetRef.name"));
        Assert.Equal(1, Number(scaled, "spec.minReplicaCount"));
        Assert.Equal(20, Number(scaled, "spec.maxReplicaCount"));
        // KEDA applies cooldownPeriod only when it scales to zero, which a minimum of one never does:
        // from one to twenty the HPA it creates scales, and waits out the cool-down as its scale-down window.
        Assert.Null(scaled.At("spec.cooldownPeriod"));
        Assert.Equal(600, Number(scaled, "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds"));
        var triggers = scaled.Objects("spec.triggers").ToList();
        Assert.Equal(["background", "celery", "send"], triggers.Select(t => t.Str("metadata.listName")!).Order(StringComparer.Ordinal));
        Assert.All(triggers, t =>
        {
            Assert.Equal("redis", t.Str("type"));
            Assert.Equal("redis.example.internal:6379", t.Str("metadata.address"));
            Assert.Equal("0", t.Str("metadata.databaseIndex"));
            Assert.Equal("30", t.Str("metadata.listLength"));
            Assert.StartsWith("piefed-worker-autoscaler-redis-", t.Str("authenticationRef.name"), StringComparison.Ordinal);
        });
        var authentication = Assert.Single(run.OfType(TriggerAuthenticationType)).Inputs;
        Assert.Equal("password", authentication.Str("spec.secretTargetRef[0].key"));
        Assert.DoesNotContain("queue-password-5d1e", scaled.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("queue-password-5d1e", authentication.ToJsonString(), StringComparison.Ordinal);
        Assert.Single(run.OfType(PodDisruptionBudgetType), b => b.Name == "piefed-worker-budget");
    }

    [Fact]
    public async Task WorkerWithoutKeda_ScalesOnCpu()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("worker", "autoscaling.enabled", true));

        var hpa = Assert.Single(run.OfType(HorizontalPodAutoscalerType)).Inputs;
        Assert.Equal("piefed-worker", hpa.Str("spec.scaleTargetRef.name"));
        Assert.Equal(["cpu:70"], hpa.Objects("spec.metrics").Select(m => $"{m.Str("resource.name")}:{Number(m, "resource.target.averageUtilization")}"));
        Assert.Empty(run.OfType(ScaledObjectType));
    }

    [Fact]
    public async Task FixedReplicas_AreSetAndNoAutoscalerExists()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        Assert.Equal(2, Number(run.Deployment("web").Inputs, "spec.replicas"));
        Assert.Empty(run.OfType(HorizontalPodAutoscalerType));
        Assert.Empty(run.OfType(ScaledObjectType));
    }

    private static string[] Strings(JsonNode node, string path) => [.. node.Array(path).Select(n => n!.GetValue<string>())];

    private static double Number(JsonNode node, string path) => node.At(path)!.GetValue<double>();
}
