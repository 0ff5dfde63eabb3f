using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using static PieFed.Infra.Tests.Operations.Workflow;

namespace PieFed.Infra.Tests.Operations;

/// <summary>
/// The CI workflows' safety properties: what runs for a fork, which job holds which credential,
/// what is built and how often, and what stands between a merge and production. GitHub checks
/// none of this; a slip shows up only when it is exploited or a release goes wrong.
/// </summary>
public sealed partial class WorkflowFileTests
{
    private const string PullRequest = "pull-request.yml";
    private const string Deploy = "deploy.yml";
    private const string ForkGuard = "github.event.pull_request.head.repo.full_name == github.repository";

    public static TheoryData<string> WorkflowFiles => [PullRequest, Deploy];

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public void Workflows_EachFile_ParsesIntoJobsWithSteps(string file)
    {
        var workflow = Load(file);

        Assert.NotEmpty(workflow.Triggers);
        Assert.NotEmpty(workflow.Jobs);
        Assert.All(workflow.Jobs, job =>
        {
            Assert.NotNull(String(job.Node, "runs-on"));
            Assert.NotEmpty(job.Steps);
        });
    }

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public void Uses_EachWorkflow_PinsEveryActionToAFullCommitSha(string file)
    {
        var workflow = Load(file);

        // A tag or branch can be moved to other code by whoever controls the action's repository;
        // a commit cannot, and these jobs hold the cluster's credentials.
        var references = workflow.Jobs
            .SelectMany(job => job.Steps.Select(s => String(s, "uses")).Append(String(job.Node, "uses")))
            .OfType<string>()
            .ToArray();
        Assert.NotEmpty(references);
        Assert.All(references, reference => Assert.Matches(PinnedAction(), reference));
    }

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public void Uses_EachWorkflow_NamesTheReleaseEachShaPins(string file)
    {
        var lines = Load(file).Text.Split('\n').Where(l => UsesLine().IsMatch(l)).ToArray();

        // Without the release beside it, a SHA cannot be reviewed or updated by a human.
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Matches(UsesLineWithRelease(), line));
    }

    [Fact]
    public void PullRequestWorkflow_Triggers_PullRequestButNeverPullRequestTarget()
    {
        var workflow = Load(PullRequest);

        // pull_request_target runs with the base repository's secrets and a write token, which a
        // fork's pull request could then reach.
        Assert.Contains("pull_request", workflow.Triggers);
        Assert.DoesNotContain("pull_request_target", workflow.Triggers);
        Assert.DoesNotContain("workflow_run", workflow.Triggers);
    }

    [Fact]
    public void PreviewJob_Condition_RunsOnlyForBranchesOfThisRepository()
    {
        var condition = Load(PullRequest).Job("preview").If;

        Assert.NotNull(condition);
        var expression = Spaces().Replace(condition.Replace("${{", "", StringComparison.Ordinal).Replace("}}", "", StringComparison.Ordinal), " ").Trim();
        // Any alternative would let some fork's pull request through.
        Assert.DoesNotContain("||", expression, StringComparison.Ordinal);
        var conjuncts = expression.Split("&&").Select(c => c.Trim().Trim('(', ')').Trim()).ToArray();
        Assert.Contains(conjuncts, c => c is ForkGuard || c == Reversed(ForkGuard));
    }

    [Fact]
    public void PullRequestWorkflow_Secrets_ReachOnlyThePreviewJob()
    {
        var workflow = Load(PullRequest);

        // The token GitHub gives every job is scoped by `permissions:`; every other secret is a credential.
        Assert.All(NodesOutsideJobs(workflow, "preview"), node => Assert.Subset(GitHubToken, SecretsReadBy(node)));
        Assert.All(workflow.Jobs.Where(j => j.Id != "preview"), job => Assert.Null(Node(job.Node, "secrets")));
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal) { "KUBECONFIG_DEV", "KUBECONFIG_PROD", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE" },
            SecretsReadBy(workflow.Job("preview").Node));
    }

    [Fact]
    public void PullRequestWorkflow_Permissions_WriteOnlyThePreviewsComment()
    {
        var workflow = Load(PullRequest);

        Assert.Empty(Writes(Node(workflow.Root, "permissions"), "the workflow"));
        Assert.All(workflow.Jobs.Where(j => j.Id != "preview"), job => Assert.Empty(Writes(Node(job.Node, "permissions"), job.Id)));
        Assert.Equal(["pull-requests"], Writes(Node(workflow.Job("preview").Node, "permissions"), "preview"));
    }

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public void Program_EachWorkflow_IsPublishedExactlyOnceAndUploaded(string file)
    {
        var workflow = Load(file);

        // One build for every stack: what the preview showed and what `up` applies are the same bytes.
        var publishes = workflow.Jobs.SelectMany(j => j.Scripts.Where(s => DotnetPublish().IsMatch(s)).Select(s => (Job: j, Script: s))).ToArray();
        var (publisher, script) = Assert.Single(publishes);
        Assert.Matches(@"dotnet publish infra/? -c Release -o \S", script);
        Assert.Single(publisher.StepsUsing("actions/upload-artifact"));
        Assert.Null(Node(publisher.Node, "strategy"));
    }

    [Fact]
    public void PreviewJob_EachStack_RunsTheDownloadedProgramWithoutBuilding()
    {
        var workflow = Load(PullRequest);
        var preview = workflow.Job("preview");

        AssertRunsThePublishedProgram(workflow, preview, IsPulumiAction("preview"));
    }

    [Fact]
    public void PreviewJob_Matrix_CoversDevAndProd()
    {
        var preview = Load(PullRequest).Job("preview");

        var stacks = Node(Mapping(Mapping(preview.Node, "strategy"), "matrix"), "stack");
        Assert.Equal(["dev", "prod"], Assert.IsType<YamlSequenceNode>(stacks).Children.Select(Scalar));
        var step = preview.Steps.Single(IsPulumiAction("preview"));
        Assert.Equal("${{ matrix.stack }}", String(Mapping(step, "with"), "stack-name"));
    }

    [Fact]
    public void PreviewJob_Preview_CommentsTheDiffOnThePullRequest()
    {
        var step = Load(PullRequest).Job("preview").Steps.Single(IsPulumiAction("preview"));

        var with = Mapping(step, "with");
        Assert.Equal("true", String(with, "comment-on-pr"));
        Assert.Equal("${{ secrets.GITHUB_TOKEN }}", String(with, "github-token"));
    }

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public void TestJob_EachWorkflow_RunsDotnetTest(string file)
    {
        var scripts = Load(file).Job("test").Scripts;

        // .ci/run prepares PostgreSQL and Redis for the gate's tests, then runs the README's command.
        if (!scripts.Any(s => DotnetTest().IsMatch(s)))
        {
            Assert.Contains(scripts, s => CiRun().IsMatch(s));
            var ciRunCommands = File.ReadAllLines(RepositoryFile(".ci/run"))
                .Select(l => l.Trim())
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .ToArray();
            Assert.Matches(@"^dotnet test( [^|&;]*)?$", ciRunCommands[^1]);
            Assert.Contains(ciRunCommands, l => l.StartsWith("set -e", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void DeployWorkflow_Triggers_PushToMainOnly()
    {
        var workflow = Load(Deploy);

        // Anything a pull request can trigger must not reach `pulumi up`.
        Assert.Subset(new HashSet<string>(StringComparer.Ordinal) { "push", "workflow_dispatch" }, workflow.Triggers.ToHashSet(StringComparer.Ordinal));
        var branches = Assert.IsType<YamlSequenceNode>(Node(workflow.Trigger("push"), "branches"));
        Assert.Equal(["main"], branches.Children.Select(Scalar));
    }

    [Fact]
    public void DeployWorkflow_ProdJob_NeedsDevAndTheProductionEnvironment()
    {
        var prod = Load(Deploy).Job("prod");

        // A release reaches prod only after it migrated and rolled out on dev, and a reviewer approved it.
        Assert.Contains("dev", prod.Needs);
        var environment = Node(prod.Node, "environment");
        Assert.Equal("production", environment is YamlMappingNode named ? String(named, "name") : (environment as YamlScalarNode)?.Value);
    }

    [Fact]
    public void DeployWorkflow_UpJobs_NeverRunTwiceAtOnceForAStack()
    {
        var workflow = Load(Deploy);

        // Two concurrent `up`s on one stack: the second fails on the lock, or, with the lock
        // cancelled, both race the migration Job.
        var groups = Stacks.Select(stack =>
        {
            var concurrency = Node(workflow.Job(stack).Node, "concurrency");
            var group = concurrency is YamlMappingNode mapping ? String(mapping, "group") : (concurrency as YamlScalarNode)?.Value;
            Assert.NotNull(group);
            Assert.Contains(stack, group, StringComparison.Ordinal);
            Assert.DoesNotMatch(PerRunExpression(), group);
            Assert.NotEqual("true", String(concurrency, "cancel-in-progress"));
            return group;
        }).ToArray();
        Assert.Equal(groups.Length, groups.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void DeployWorkflow_UpJobs_UpdateTheirOwnStackWithThePublishedProgramAfterTheTests()
    {
        var workflow = Load(Deploy);

        Assert.Contains("test", workflow.Job("dev").Needs);
        foreach (var stack in Stacks)
        {
            var job = workflow.Job(stack);
            AssertRunsThePublishedProgram(workflow, job, IsPulumiUp(stack));
            Assert.DoesNotContain(job.Scripts, s => PulumiUp().Matches(s).Any(m => !IsPulumiUpOf(m.Value, stack)));
        }
    }

    [Fact]
    public void DeployWorkflow_Secrets_ReachOnlyTheUpJobs()
    {
        var workflow = Load(Deploy);

        Assert.All(NodesOutsideJobs(workflow, "dev", "prod"), node => Assert.Empty(SecretsReadBy(node)));
        Assert.Contains("KUBECONFIG_DEV", SecretsReadBy(workflow.Job("dev").Node));
        Assert.DoesNotContain("KUBECONFIG_PROD", SecretsReadBy(workflow.Job("dev").Node));
        Assert.Contains("KUBECONFIG_PROD", SecretsReadBy(workflow.Job("prod").Node));
    }

    [Fact]
    public void DeployWorkflow_Permissions_ReadOnly()
    {
        var workflow = Load(Deploy);

        Assert.Empty(Writes(Node(workflow.Root, "permissions"), "the workflow"));
        Assert.All(workflow.Jobs, job => Assert.Empty(Writes(Node(job.Node, "permissions"), job.Id)));
    }

    private static readonly string[] Stacks = ["dev", "prod"];

    private static readonly HashSet<string> GitHubToken = new(StringComparer.Ordinal) { "GITHUB_TOKEN" };

    /// <summary>
    /// The job downloads what the one publishing job uploaded and points Pulumi.yaml at it before
    /// Pulumi runs: otherwise the dotnet language host quietly builds infra/ from source again.
    /// </summary>
    private static void AssertRunsThePublishedProgram(Workflow workflow, WorkflowJob job, Func<YamlMappingNode, bool> isPulumiStep)
    {
        var publisher = workflow.Jobs.Single(j => j.Scripts.Any(s => DotnetPublish().IsMatch(s)));
        Assert.Contains(publisher.Id, job.Needs);
        var artifact = String(Mapping(publisher.StepsUsing("actions/upload-artifact").Single(), "with"), "name");

        var download = job.IndexOfStep(s => String(s, "uses")?.StartsWith("actions/download-artifact@", StringComparison.Ordinal) == true
            && String(Mapping(s, "with"), "name") == artifact);
        Assert.True(download >= 0, $"{job.Id} does not download the artifact '{artifact}'.");
        var downloadedProgram = AsShell(String(Mapping(job.Steps[download], "with"), "path") ?? "") + "/PieFed.Infra.dll";
        var useBinary = job.IndexOfStep(s => String(s, "run") is { } run && BinaryWrittenToPulumiYaml(run) == downloadedProgram);
        var pulumi = job.IndexOfStep(isPulumiStep);
        Assert.True(useBinary > download, $"{job.Id} does not set Pulumi.yaml's runtime.options.binary to {downloadedProgram} after downloading it.");
        Assert.True(pulumi > useBinary, $"{job.Id} runs Pulumi before (or without) pointing it at the prebuilt program.");
        Assert.DoesNotContain(job.Scripts, s => DotnetBuild().IsMatch(s));
    }

    /// <summary>
    /// The path a script writes into Pulumi.yaml as the runtime's <c>binary</c>, following the
    /// shell variables that carry it, or null: a line that merely mentions the words sets nothing.
    /// </summary>
    private static string? BinaryWrittenToPulumiYaml(string script)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        string Expand(string value) => ShellVariable().Replace(value.Trim('"', '\''), m =>
            variables.TryGetValue(m.Groups["name"].Value, out var known) ? known : m.Value);

        foreach (var line in Shell(script).Split('\n').Select(l => l.Trim()))
        {
            if (Assignment().Match(line) is { Success: true } assignment && !line.Contains(' ', StringComparison.Ordinal))
            {
                variables[assignment.Groups["name"].Value] = Expand(assignment.Groups["value"].Value);
                continue;
            }

            if (YqInPlace().Match(line) is not { Success: true } yq
                || !RuntimeIsDotnet().IsMatch(yq.Groups["expression"].Value)
                || BinaryFromEnvironment().Match(yq.Groups["expression"].Value) is not { Success: true } binary)
            {
                continue;
            }

            // `NAME=value yq … strenv(NAME)`: the value must be given to this very command.
            var prefix = Regex.Match(line, $@"^(?:\S+=\S+\s+)*{Regex.Escape(binary.Groups["env"].Value)}=(?<value>""[^""]*""|\S+)\s+yq\b");
            return prefix.Success ? Expand(prefix.Groups["value"].Value) : null;
        }

        return null;
    }

    /// <summary>An Actions expression for a path, as the same path reads in a job's shell.</summary>
    private static string AsShell(string path)
        => path.Replace("${{ runner.temp }}", "$RUNNER_TEMP", StringComparison.Ordinal)
            .Replace("${{ github.workspace }}", "$GITHUB_WORKSPACE", StringComparison.Ordinal)
            .Replace("${{ env.", "$", StringComparison.Ordinal)
            .Replace(" }}", "", StringComparison.Ordinal);

    private static Func<YamlMappingNode, bool> IsPulumiAction(string command)
        => step => String(step, "uses")?.StartsWith("pulumi/actions@", StringComparison.Ordinal) == true
            && String(Mapping(step, "with"), "command") == command;

    private static Func<YamlMappingNode, bool> IsPulumiUp(string stack)
        => step => String(step, "run") is { } run && PulumiUp().Matches(Shell(run)).Any(m => IsPulumiUpOf(m.Value, stack));

    private static bool IsPulumiUpOf(string command, string stack)
        => Regex.IsMatch(command, $@"\s(--stack[ =]|-s ){stack}(\s|$)") && Regex.IsMatch(command, @"\s(--yes|-y)(\s|$)");

    /// <summary>Everything in the file but the given jobs: workflow-level keys reach every job.</summary>
    private static IEnumerable<YamlNode> NodesOutsideJobs(Workflow workflow, params string[] ids)
        => workflow.Root.Children.Where(c => Scalar(c.Key) != "jobs").Select(c => c.Value)
            .Concat(workflow.Jobs.Where(j => !ids.Contains(j.Id)).Select(j => (YamlNode)j.Node));

    /// <summary>The scopes a <c>permissions:</c> value grants write on; unset means the repository's default, which may write.</summary>
    private static IReadOnlyList<string> Writes(YamlNode? permissions, string where) => permissions switch
    {
        null when where == "the workflow" => ["(unset: the repository's default token permissions)"],
        null => [],
        YamlScalarNode { Value: "read-all" } => [],
        YamlScalarNode scalar => [scalar.Value ?? ""],
        YamlMappingNode mapping => [.. mapping.Children.Where(c => Scalar(c.Value) != "read" && Scalar(c.Value) != "none").Select(c => Scalar(c.Key))],
        _ => ["(unreadable)"],
    };

    private static string Reversed(string comparison)
    {
        var sides = comparison.Split(" == ");
        return $"{sides[1]} == {sides[0]}";
    }

    private static string RepositoryFile(string relativePath)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new Xunit.Sdk.XunitException($"{relativePath} was not found in any parent of {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")]
    private static partial Regex PinnedAction();

    [GeneratedRegex(@"^\s*(-\s+)?uses:")]
    private static partial Regex UsesLine();

    [GeneratedRegex(@"^\s*(-\s+)?uses:\s*\S+@[0-9a-f]{40}\s+#\s*v[0-9]+\.[0-9]+\.[0-9]+\s*$")]
    private static partial Regex UsesLineWithRelease();

    [GeneratedRegex(@"(^|[\s;&|(])dotnet publish\b")]
    private static partial Regex DotnetPublish();

    [GeneratedRegex(@"(^|[\s;&|(])dotnet (build|publish|run|pack|msbuild|test|restore)\b")]
    private static partial Regex DotnetBuild();

    [GeneratedRegex(@"(^|[\s;&|(])dotnet test\b")]
    private static partial Regex DotnetTest();

    [GeneratedRegex(@"(^|[\s;&|(])(bash |sh )?\.?/?\.ci/run\b")]
    private static partial Regex CiRun();

    [GeneratedRegex(@"\bpulumi up\b[^\n;&|]*")]
    private static partial Regex PulumiUp();

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>.*)$")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}?")]
    private static partial Regex ShellVariable();

    [GeneratedRegex(@"\byq -i '(?<expression>[^']*)' Pulumi\.yaml\s*$")]
    private static partial Regex YqInPlace();

    [GeneratedRegex(@"^\s*\.runtime\s*=\s*\{\s*""name""\s*:\s*""dotnet""\s*,")]
    private static partial Regex RuntimeIsDotnet();

    [GeneratedRegex(@"""options""\s*:\s*\{\s*""binary""\s*:\s*strenv\((?<env>[A-Za-z_][A-Za-z0-9_]*)\)\s*\}")]
    private static partial Regex BinaryFromEnvironment();

    [GeneratedRegex(@"github\.(run_id|run_number|run_attempt|sha|event)|\b(run_id|run_number)\b")]
    private static partial Regex PerRunExpression();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
