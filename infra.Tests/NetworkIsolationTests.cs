using System.Net;
using System.Text.Json.Nodes;
using PieFed.Infra.Components;
using PieFed.Infra.Tests.Support;
using static PieFed.Infra.Tests.Support.StackRun;

namespace PieFed.Infra.Tests;

public sealed class NetworkIsolationTests
{
    /// <summary>The cloud metadata services no pod may reach: the IPv4 one everywhere, and AWS's IPv6 one.</summary>
    private static readonly IPAddress[] MetadataAddresses = [IPAddress.Parse("169.254.169.254"), IPAddress.Parse("fd00:ec2::254")];

    private static readonly string[] NarrowApiServerCidrs = ["10.0.0.1/32", "10.0.0.2/32"];

    /// <summary>Ranges around the metadata addresses, each of which must cut them out.</summary>
    private static readonly string[] WideApiServerCidrs = ["0.0.0.0/0", "128.0.0.0/1", "169.0.0.0/8", "::/0", "fd00::/8"];

    /// <summary>Development with isolation on: every kind of pod there is, bundled servers included.</summary>
    internal static StackConfig IsolatedDev => StackConfig.Dev.WithField("networkPolicy", "enabled", true);

    public static TheoryData<string> Stacks => ["dev", "prod"];

    [Fact]
    public async Task Program_Production_IsolatesByDefault()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        Assert.Equal(
            ["piefed-default-deny", "piefed-network-egress", "piefed-network-notifications", "piefed-network-web"],
            run.OfType(NetworkPolicyType).Select(p => p.Inputs.Str("metadata.name")).Order(StringComparer.Ordinal));
        Assert.All(run.OfType(NetworkPolicyType), p => Assert.Equal("piefed", p.Inputs.Str("metadata.namespace")));
    }

    [Fact]
    public async Task Program_DevelopmentByDefault_OrTurnedOff_RegistersNoPolicy()
    {
        Assert.Empty((await ProgramAsync(StackConfig.Dev)).OfType(NetworkPolicyType));
        Assert.Empty((await ProgramAsync(StackConfig.Prod.WithField("networkPolicy", "enabled", false))).OfType(NetworkPolicyType));
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task DefaultDeny_SelectsEveryPodAndAllowsNothingEitherWay(string stack)
    {
        var run = await ProgramAsync(stack == "dev" ? IsolatedDev : StackConfig.Prod);

        var deny = Policy(run, "piefed-default-deny");
        // Present and empty: every pod of the namespace, those added later included.
        Assert.Empty(Assert.IsType<JsonObject>(deny.At("spec.podSelector")));
        Assert.Equal(["Ingress", "Egress"], Strings(deny, "spec.policyTypes"));
        Assert.Null(deny.At("spec.ingress"));
        Assert.Null(deny.At("spec.egress"));
    }

    [Theory]
    [InlineData("web", 5000)]
    [InlineData("notifications", 8000)]
    public async Task Served_ReachableFromTheIngressControllerAndTheReleaseOnly(string component, int port)
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var policy = Policy(run, $"piefed-network-{component}");
        Assert.Equal(Labels("piefed", component), Map(policy.At("spec.podSelector.matchLabels")));
        Assert.Equal(["Ingress"], Strings(policy, "spec.policyTypes"));
        var rule = Assert.Single(policy.Objects("spec.ingress"));
        Assert.Equal([("TCP", port)], Ports(rule));
        var from = rule.Objects("from").ToList();
        Assert.Equal(2, from.Count);
        // Two peers, never one with both selectors (which would mean "those pods in that namespace").
        Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "ingress-nginx" }, Map(from[0].At("namespaceSelector.matchLabels")));
        Assert.Null(from[0].At("podSelector"));
        Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/name"] = "piefed" }, Map(from[1].At("podSelector.matchLabels")));
        Assert.Null(from[1].At("namespaceSelector"));
    }

    [Fact]
    public async Task Web_ReachableOnTheContainersOwnPort()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        var containerPort = run.Deployment("web").Inputs.At("spec.template.spec.containers[0].ports[0].containerPort")!.GetValue<double>();
        Assert.Equal([("TCP", (int)containerPort)], Ports(Policy(run, "piefed-network-web").Objects("spec.ingress").Single()));
    }

    [Fact]
    public async Task IngressNamespaceSelector_Configured_SelectsThatNamespace()
    {
        var selector = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "traefik", ["team"] = "edge" };

        var run = await ProgramAsync(StackConfig.Prod.WithField("networkPolicy", "ingressNamespaceSelector", selector));

        Assert.Equal(selector, Map(Policy(run, "piefed-network-web").At("spec.ingress[0].from[0].namespaceSelector.matchLabels")));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task BundledServer_ReachableOnlyFromPodsThatRunPieFed(string server)
    {
        var run = await ProgramAsync(IsolatedDev);

        var servicePort = (int)run.OfType(ServiceType).Single(s => s.Name == $"piefed-{server}").Inputs.At("spec.ports[0].port")!.GetValue<double>();
        var serverPod = Pods(run).Single(p => p.Labels["app.kubernetes.io/component"] == server);
        // Of all policies, only the default deny and the server's own select its pods for ingress.
        var ingressPolicies = run.OfType(NetworkPolicyType).Select(p => p.Inputs)
            .Where(p => Strings(p, "spec.policyTypes").Contains("Ingress") && Selects(p.At("spec.podSelector"), serverPod.Labels))
            .Select(p => p.Str("metadata.name"));
        Assert.Equal(["piefed-default-deny", $"piefed-network-{server}"], ingressPolicies.Order(StringComparer.Ordinal));

        var rule = Assert.Single(Policy(run, $"piefed-network-{server}").Objects("spec.ingress"));
        Assert.Equal([("TCP", servicePort)], Ports(rule));
        var peer = Assert.Single(rule.Objects("from"));
        Assert.Null(peer.At("namespaceSelector"));
        Assert.Null(peer.At("ipBlock"));
        Assert.Equal(PieFedPods(run), Pods(run).Where(p => Selects(peer.At("podSelector"), p.Labels)).Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ExternalServers_GetNoIngressPolicy()
    {
        var run = await ProgramAsync(StackConfig.Prod);

        Assert.DoesNotContain(run.OfType(NetworkPolicyType), p => p.Name is "piefed-network-postgres" or "piefed-network-redis");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task Egress_AppliesToExactlyThePodsThatRunPieFed(string stack)
    {
        var run = await ProgramAsync(stack == "dev" ? IsolatedDev : StackConfig.Prod);

        var egress = Policy(run, "piefed-network-egress");
        Assert.Equal(["Egress"], Strings(egress, "spec.policyTypes"));
        Assert.Equal(PieFedPods(run), Pods(run).Where(p => Selects(egress.At("spec.podSelector"), p.Labels)).Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Egress_External_AllowsDnsTheApiTheServersTheMailServerAndTheWeb()
    {
        var run = await ProgramAsync(StackConfig.Prod
            .WithField("redis", "port", 6380)
            .WithField("env", "MAIL_SERVER", "smtp.example.org")
            .WithField("env", "MAIL_PORT", "587"));

        var rules = Policy(run, "piefed-network-egress").Objects("spec.egress").ToList();
        var dns = rules.Single(r => Ports(r).Contains(("UDP", 53)));
        Assert.Equal([("UDP", 53), ("TCP", 53)], Ports(dns));
        var dnsPeer = Assert.Single(dns.Objects("to"));
        // Present and empty: kube-dns pods in any namespace, not only this one.
        Assert.Empty(Assert.IsType<JsonObject>(dnsPeer.At("namespaceSelector")));
        Assert.Equal(new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, Map(dnsPeer.At("podSelector.matchLabels")));

        var api = rules.Single(r => Ports(r).Contains(("TCP", 6443)));
        Assert.Equal([("TCP", 443), ("TCP", 6443)], Ports(api));
        Assert.Equal(["0.0.0.0/0"], api.Objects("to").Select(t => t.Str("ipBlock.cidr")));

        var outside = rules.Single(r => Ports(r).Contains(("TCP", 80)));
        Assert.Equal([80, 443, 587, 5432, 6380], Ports(outside).Select(p => p.Port));
        Assert.Equal(["0.0.0.0/0", "::/0"], outside.Objects("to").Select(t => t.Str("ipBlock.cidr")));

        var release = rules.Single(r => Ports(r).Contains(("TCP", 5000)));
        Assert.Equal([("TCP", 5000), ("TCP", 8000)], Ports(release));
        Assert.Equal(4, rules.Count);
    }

    [Fact]
    public async Task Egress_Bundled_ReachesTheServersByLabelAndNothingElseOnTheirPorts()
    {
        var run = await ProgramAsync(IsolatedDev);

        var rules = Policy(run, "piefed-network-egress").Objects("spec.egress").ToList();
        foreach (var (server, port) in new[] { ("postgres", 5432), ("redis", 6379) })
        {
            var rule = rules.Single(r => Ports(r).SequenceEqual([("TCP", port)]));
            Assert.Equal(Labels("piefed", server), Map(Assert.Single(rule.Objects("to")).At("podSelector.matchLabels")));
        }

        Assert.Equal([80, 443], Ports(rules.Single(r => Ports(r).Contains(("TCP", 80)))).Select(p => p.Port));
    }

    [Fact]
    public async Task Egress_MailServerWithoutPort_AllowsSmtp()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("env", "MAIL_SERVER", "smtp.example.org"));

        var outside = Policy(run, "piefed-network-egress").Objects("spec.egress").Single(r => Ports(r).Contains(("TCP", 80)));
        Assert.Contains(("TCP", 25), Ports(outside));
    }

    [Fact]
    public async Task Egress_S3EndpointOnItsOwnPort_AllowsThatPort()
    {
        var run = await ProgramAsync(S3Prod("http://minio.example.org:9000"));

        var outside = Policy(run, "piefed-network-egress").Objects("spec.egress").Single(r => Ports(r).Contains(("TCP", 80)));
        Assert.Contains(("TCP", 9000), Ports(outside));
    }

    [Fact]
    public async Task Egress_ApiServerCidrsNarrowed_ReachesOnlyThem()
    {
        var run = await ProgramAsync(StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", NarrowApiServerCidrs));

        var api = Policy(run, "piefed-network-egress").Objects("spec.egress").Single(r => Ports(r).Contains(("TCP", 6443)));
        Assert.Equal(["10.0.0.1/32", "10.0.0.2/32"], api.Objects("to").Select(t => t.Str("ipBlock.cidr")));
        Assert.All(api.Objects("to"), t => Assert.Empty(t.Array("ipBlock.except")));
    }

    public static TheoryData<string> Configurations =>
    [
        "prod", "isolated dev", "existing secret", "s3 endpoint", "mail", "wide API server CIDRs",
    ];

    /// <summary>Every address-based rule cuts the metadata services out, and no rule allows every destination.</summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task Egress_NeverReachesAMetadataService(string configuration)
    {
        var run = await ProgramAsync(configuration switch
        {
            "prod" => StackConfig.Prod,
            "isolated dev" => IsolatedDev,
            "existing secret" => StackConfig.Prod.With("databasePassword", null).With("database", null).With("redis", null).With("existingSecret", "piefed-app"),
            "s3 endpoint" => S3Prod("https://s3.example.org"),
            "mail" => StackConfig.Prod.WithField("env", "MAIL_SERVER", "smtp.example.org").WithField("env", "MAIL_PORT", "465"),
            _ => StackConfig.Prod.WithField("networkPolicy", "apiServerCidrs", WideApiServerCidrs),
        });

        var rules = run.OfType(NetworkPolicyType).SelectMany(p => p.Inputs.Objects("spec.egress")).ToList();
        Assert.NotEmpty(rules);
        var blocks = 0;
        foreach (var rule in rules)
        {
            // A rule without destinations allows all of them.
            Assert.NotEmpty(rule.Objects("to"));
            foreach (var block in rule.Objects("to").Select(t => t.At("ipBlock")).OfType<JsonObject>())
            {
                var cidr = IPNetwork.Parse(block.Str("cidr")!);
                var except = block.Array("except").Select(e => IPNetwork.Parse(e!.GetValue<string>())).ToList();
                foreach (var metadata in MetadataAddresses.Where(cidr.Contains))
                {
                    Assert.True(except.Any(e => e.Contains(metadata)), $"{cidr} reaches {metadata}: except is [{string.Join(", ", except)}]");
                }

                blocks++;
            }
        }

        Assert.True(blocks >= 3);
    }

    private static StackConfig S3Prod(string endpoint)
        => StackConfig.Prod
            .WithField("media", "storage", "s3")
            .WithField("media", "s3.region", "eu-central-1")
            .WithField("media", "s3.bucket", "piefed-media")
            .WithField("media", "s3.endpoint", endpoint)
            .With("s3AccessKey", "access-key")
            .With("s3AccessSecret", "access-secret");

    private static JsonObject Policy(StackRun run, string name)
        => Assert.Single(run.OfType(NetworkPolicyType), p => p.Inputs.Str("metadata.name") == name).Inputs;

    private sealed record Pod(string Name, IReadOnlyDictionary<string, string> Labels, string Image);

    /// <summary>The pod templates of every workload the stack registers.</summary>
    private static List<Pod> Pods(StackRun run)
    {
        var templates = run.OfType(DeploymentType).Concat(run.OfType(StatefulSetType)).Concat(run.OfType(JobType)).Select(r => (r.Name, Template: r.Inputs.At("spec.template")))
            .Concat(run.OfType(CronJobType).Select(r => (r.Name, Template: r.Inputs.At("spec.jobTemplate.spec.template"))));
        return [.. templates.Select(t => new Pod(t.Name, Map(t.Template!.At("metadata.labels")), t.Template!.Str("spec.containers[0].image")!))];
    }

    private static string[] PieFedPods(StackRun run)
    {
        var pods = Pods(run).Where(p => p.Image.StartsWith(PieFedImage.DefaultRepository + ":", StringComparison.Ordinal)).Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(pods);
        return pods;
    }

    /// <summary>Whether a label selector (matchLabels and matchExpressions) selects these labels.</summary>
    private static bool Selects(JsonNode? selector, IReadOnlyDictionary<string, string> labels)
    {
        Assert.NotNull(selector);
        var matchLabels = Map(selector.At("matchLabels")).All(p => labels.TryGetValue(p.Key, out var value) && value == p.Value);
        var matchExpressions = selector.Objects("matchExpressions").All(e =>
        {
            var present = labels.TryGetValue(e.Str("key")!, out var value);
            var values = Strings(e, "values");
            return e.Str("operator") switch
            {
                "In" => present && values.Contains(value!),
                "NotIn" => !present || !values.Contains(value!),
                "Exists" => present,
                "DoesNotExist" => !present,
                var other => throw new InvalidOperationException($"Unknown operator {other}."),
            };
        });
        return matchLabels && matchExpressions;
    }

    private static List<(string Protocol, int Port)> Ports(JsonObject rule)
        => [.. rule.Objects("ports").Select(p => (p.Str("protocol")!, (int)p.At("port")!.GetValue<double>()))];

    private static List<string> Strings(JsonNode node, string path) => [.. node.Array(path).Select(v => v!.GetValue<string>())];

    private static Dictionary<string, string> Map(JsonNode? node)
        => node is JsonObject map ? map.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()) : [];

    private static Dictionary<string, string> Labels(string name, string component)
        => new() { ["app.kubernetes.io/name"] = name, ["app.kubernetes.io/component"] = component };
}
