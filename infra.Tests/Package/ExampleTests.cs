using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PieFed.Infra.Package;
using PieFed.Infra.Tests.Support;
using Pulumi.Experimental.Provider;
using Pulumi.Testing;
using YamlDotNet.RepresentationModel;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// The examples for users of other languages. Without a Pulumi CLI here, the YAML program's
/// resource is constructed through the provider with exactly its properties (the closest stand-in
/// for Pulumi YAML, which sends them to Construct as they are), and the TypeScript program, whose
/// SDK the CLI generates, is type-checked by the TypeScript compiler against declarations derived
/// from the schema that SDK is generated from (<see cref="TypeScriptDeclarations"/>).
/// </summary>
public sealed partial class ExampleTests
{
    private static string Example(params string[] path) => Path.Combine([AppContext.BaseDirectory, "Examples", .. path]);

    private static YamlMappingNode LoadYaml(string path)
    {
        var yaml = new YamlStream();
        using var reader = File.OpenText(path);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] keys)
        => keys.Aggregate(node, (current, key) => ((YamlMappingNode)current).Children[new YamlScalarNode(key)]);

    [Fact]
    public async Task TheYamlExampleDeploysADevelopmentInstance()
    {
        var program = LoadYaml(Example("yaml", "Pulumi.yaml"));
        Assert.Equal("piefed:index:PieFedInstance", At(program, "resources", "piefed", "type").ToString());
        var inputs = StackConfig.ToPropertyValue(StackConfig.ToJson(At(program, "resources", "piefed", "properties"))!).TryGetMap(out var map) ? map : throw new InvalidDataException();

        var mocks = new RecordingMocks();
        Exception? error = null;
        await MockDeployments.RunAsync(() => Pulumi.Deployment.TestAsync(mocks.Mock.Object, new TestOptions { IsPreview = true, StackName = "dev", ProjectName = "piefed-yaml" }, async () =>
        {
            var request = new ConstructRequest("piefed:index:PieFedInstance", "piefed", map, new Pulumi.ComponentResourceOptions());
            error = await Record.ExceptionAsync(() => PieFedPackage.Provider().Construct(request, CancellationToken.None));
        }));

        Assert.Null(error);
        Assert.Equal(["notifications", "web", "worker"], mocks.Registrations.Where(r => r.Type == StackRun.DeploymentType).Select(d => d.Inputs.Str("metadata.labels['app.kubernetes.io/component']")).Order(StringComparer.Ordinal));
        Assert.Equal(2, mocks.Registrations.Count(r => r.Type == StackRun.StatefulSetType));
        Assert.Single(mocks.Registrations, r => r.Type == StackRun.JobType);
    }

    [Fact]
    public async Task TheYamlExampleReadsOnlyOutputsTheComponentHas()
    {
        var program = LoadYaml(Example("yaml", "Pulumi.yaml"));
        var outputs = ((YamlMappingNode)At(program, "outputs")).Children.Values.Select(v => OutputReference().Match(v.ToString()).Groups["output"].Value);

        Assert.Empty(outputs.Except(await SchemaOutputsAsync()));
        Assert.Equal("../../provider", At(program, "packages", "piefed").ToString());
    }

    /// <summary>Mistakes a TypeScript user could make in the example, each with the compiler's complaint: (what is right, what is wrong, the error).</summary>
    private static readonly (string Correct, string Wrong, string Error)[] Mistakes =
    [
        ("replicas: production ? 2 : 1,", "gunicornWorker: 2,", "'gunicornWorker' does not exist in type 'WebArgs'"),
        ("tag: \"v1.7.7\",", "tag: 177,", "Type 'number' is not assignable to type 'string'"),
        ("    image: {\n        tag: \"v1.7.7\",\n    },", "    tag: \"v1.7.7\",", "'tag' does not exist in type 'PieFedInstanceArgs'"),
        ("instance.migrationJobName", "instance.migrationJob", "Property 'migrationJob' does not exist on type 'PieFedInstance'"),
    ];

    /// <summary>One compiler run over the example and each mistaken copy of it, each its own module.</summary>
    private static readonly Lazy<Task<string>> Compiled = new(CompileExampleAndMistakesAsync);

    public static TheoryData<int> MistakeNumbers => [.. Enumerable.Range(0, Mistakes.Length)];

    [Fact]
    public async Task TheTypeScriptExample_TypeChecksAgainstTheSchemasDeclarations()
    {
        var output = await Compiled.Value;

        // Every complaint is about a mistaken copy (so the compiler ran, and found the example itself sound).
        Assert.NotEmpty(Diagnostics(output));
        Assert.All(Diagnostics(output), d => Assert.StartsWith("mistake-", d, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(MistakeNumbers))]
    public async Task TheTypeCheck_RefusesAMisspeltField_AWrongType_AWrongNestingAndAnUnknownOutput(int mistake)
    {
        var output = await Compiled.Value;

        Assert.Contains(Diagnostics(output), d => d.StartsWith($"mistake-{mistake}.ts(", StringComparison.Ordinal) && d.Contains(Mistakes[mistake].Error, StringComparison.Ordinal));
    }

    /// <summary>tsc's diagnostics, each a line naming its file and the indented lines that explain it.</summary>
    private static List<string> Diagnostics(string output)
    {
        var diagnostics = new List<string>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (char.IsWhiteSpace(line[0]) && diagnostics.Count > 0)
            {
                diagnostics[^1] += "\n" + line;
            }
            else
            {
                diagnostics.Add(line);
            }
        }

        return diagnostics;
    }

    /// <summary>
    /// Runs the TypeScript compiler with the example's own compiler options, against the package's
    /// declarations derived from the served schema and the @pulumi/pulumi and typescript that
    /// infra.Tests/TypeScript installs (`npm ci` there; .ci/run does it).
    /// </summary>
    private static async Task<string> CompileExampleAndMistakesAsync()
    {
        var tools = Path.Combine(Repository.Root(), "infra.Tests", "TypeScript", "node_modules");
        var compiler = Path.Combine(tools, "typescript", "bin", "tsc");
        Assert.True(File.Exists(compiler), $"{compiler} is missing: run `npm ci --prefix infra.Tests/TypeScript` (.ci/run does).");

        var directory = Directory.CreateTempSubdirectory("piefed-ts-example-").FullName;
        try
        {
            var source = await File.ReadAllTextAsync(Example("typescript", "index.ts"));
            var files = new List<string> { "index.ts" };
            await File.WriteAllTextAsync(Path.Combine(directory, "index.ts"), source);
            foreach (var (mistake, number) in Mistakes.Select((m, i) => (m, i)))
            {
                Assert.Contains(mistake.Correct, source, StringComparison.Ordinal);
                files.Add($"mistake-{number}.ts");
                await File.WriteAllTextAsync(Path.Combine(directory, files[^1]), source.Replace(mistake.Correct, mistake.Wrong, StringComparison.Ordinal));
            }

            Directory.CreateDirectory(Path.Combine(directory, "piefed"));
            await File.WriteAllTextAsync(Path.Combine(directory, "piefed", "index.d.ts"), TypeScriptDeclarations.From(await SchemaTests.ServedSchemaJsonAsync()));
            var tsconfig = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Example("typescript", "tsconfig.json")))!.AsObject();
            var options = tsconfig["compilerOptions"]!.AsObject();
            options["noEmit"] = true;
            options["baseUrl"] = ".";
            options["paths"] = new System.Text.Json.Nodes.JsonObject
            {
                ["@pulumi/pulumi"] = new System.Text.Json.Nodes.JsonArray(Path.Combine(tools, "@pulumi", "pulumi")),
                ["@pulumi/piefed"] = new System.Text.Json.Nodes.JsonArray("./piefed"),
            };
            options["typeRoots"] = new System.Text.Json.Nodes.JsonArray(Path.Combine(tools, "@types"));
            tsconfig["files"] = new System.Text.Json.Nodes.JsonArray([.. files.Select(f => System.Text.Json.Nodes.JsonValue.Create(f))]);
            await File.WriteAllTextAsync(Path.Combine(directory, "tsconfig.json"), tsconfig.ToJsonString());

            using var tsc = Process.Start(new ProcessStartInfo("node", [compiler, "--project", "tsconfig.json", "--pretty", "false"])
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = await tsc.StandardOutput.ReadToEndAsync() + await tsc.StandardError.ReadToEndAsync();
            await tsc.WaitForExitAsync();
            return output;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void TheTypeScriptExamplePinsItsDependenciesAndUsesThePackagesSdk()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Example("typescript", "package.json")));
        var dependencies = manifest.RootElement.GetProperty("dependencies").EnumerateObject()
            .Concat(manifest.RootElement.GetProperty("devDependencies").EnumerateObject())
            .ToDictionary(d => d.Name, d => d.Value.GetString()!);

        Assert.Equal("file:sdks/piefed", dependencies["@pulumi/piefed"]);
        Assert.All(dependencies.Where(d => d.Key != "@pulumi/piefed"), d => Assert.Matches(@"^\d+\.\d+\.\d+$", d.Value));
        // The type check compiles with exactly the versions the example pins.
        using var checker = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root(), "infra.Tests", "TypeScript", "package.json")));
        Assert.Equal(
            dependencies.Where(d => d.Key != "@pulumi/piefed").OrderBy(d => d.Key, StringComparer.Ordinal),
            checker.RootElement.GetProperty("devDependencies").EnumerateObject().Select(d => KeyValuePair.Create(d.Name, d.Value.GetString()!)).OrderBy(d => d.Key, StringComparer.Ordinal));
        Assert.Equal("../../provider", At(LoadYaml(Example("typescript", "Pulumi.yaml")), "packages", "piefed").ToString());
    }

    /// <summary>Mistakes a Python user could make in the example: (what is right, what is wrong, the complaint).</summary>
    private static readonly (string Correct, string Wrong, string Complaint)[] PythonMistakes =
    [
        ("piefed.WebArgs(replicas=", "piefed.WebArgs(gunicorn_worker=", "WebArgs has no argument gunicorn_worker (gunicornWorker)"),
        ("server_name=config", "servername=config", "PieFedInstance has no argument servername"),
        ("piefed.ImageArgs(tag=\"v1.7.7\")", "piefed.ImageArgs(repository=\"codeberg.org/rimu/pyfedi\")", "ImageArgs lacks its required argument tag"),
        ("piefed.BundledServicesArgs(", "piefed.BundledServiceArgs(", "the package has no type BundledServiceArgs"),
        ("instance.migration_job_name", "instance.migration_job", "PieFedInstance has no output migration_job"),
    ];

    public static TheoryData<int> PythonMistakeNumbers => [.. Enumerable.Range(0, PythonMistakes.Length)];

    [Fact]
    public async Task ThePythonExample_CompilesAndUsesOnlyTheSchemasTypesArgumentsAndOutputs()
    {
        var source = await File.ReadAllTextAsync(Example("python", "__main__.py"));

        Assert.Empty(await PythonComplaintsAsync(source));
        Assert.All(await File.ReadAllLinesAsync(Example("python", "requirements.txt")), r => Assert.Matches(@"^[\w-]+==\d+\.\d+\.\d+$", r));
        Assert.Equal("../../provider", At(LoadYaml(Example("python", "Pulumi.yaml")), "packages", "piefed").ToString());
    }

    [Theory]
    [MemberData(nameof(PythonMistakeNumbers))]
    public async Task ThePythonCheck_RefusesAMisspeltArgument_AMissingRequiredOne_AnUnknownTypeAndAnUnknownOutput(int mistake)
    {
        var source = await File.ReadAllTextAsync(Example("python", "__main__.py"));
        var (correct, wrong, complaint) = PythonMistakes[mistake];
        Assert.Contains(correct, source, StringComparison.Ordinal);

        Assert.Contains(complaint, await PythonComplaintsAsync(source.Replace(correct, wrong, StringComparison.Ordinal)));
    }

    /// <summary>
    /// What Python's compiler and the package's Python SDK would refuse in a program: it must
    /// compile (Debian's python3, as py_compile does), and every <c>piefed.X(...)</c> must name a
    /// type of the schema (the SDK's <c>XArgs</c> classes and <c>PieFedInstance</c>) with keyword
    /// arguments it has, in the SDK's snake_case, its required ones included; every attribute read
    /// from the instance must be an output. Python's own parser (ast) reads the program.
    /// </summary>
    private static async Task<List<string>> PythonComplaintsAsync(string source)
    {
        const string reader = """
            import ast, json, sys
            tree = ast.parse(sys.stdin.read(), "__main__.py")
            compile(tree, "__main__.py", "exec")
            calls, outputs = [], []
            for node in ast.walk(tree):
                callee = getattr(node, "func", None)
                if isinstance(node, ast.Call) and isinstance(callee, ast.Attribute) and getattr(callee.value, "id", None) == "piefed":
                    calls.append({"type": callee.attr, "arguments": [k.arg for k in node.keywords]})
                if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "instance":
                    outputs.append(node.attr)
            print(json.dumps({"calls": calls, "outputs": outputs}))
            """;
        using var python = Process.Start(new ProcessStartInfo(MigrationGate.ScriptProcess.Python, ["-c", reader])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await python.StandardInput.WriteAsync(source);
        python.StandardInput.Close();
        var output = await python.StandardOutput.ReadToEndAsync();
        var errors = await python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();
        if (python.ExitCode != 0)
        {
            return [$"python3 refused the program: {errors}"];
        }

        var schema = await SchemaTests.ServedSchemaJsonAsync();
        var component = SchemaTests.Component(schema);
        var used = System.Text.Json.Nodes.JsonNode.Parse(output)!;
        var complaints = new List<string>();
        foreach (var call in used["calls"]!.AsArray())
        {
            var type = call!["type"]!.GetValue<string>();
            var shape = type == "PieFedInstance" ? (component["inputProperties"], component["requiredInputs"])
                : type.EndsWith("Args", StringComparison.Ordinal) && schema["types"]![$"piefed:index:{type[..^4]}"] is { } declared ? (declared["properties"], declared["required"])
                : (null, null);
            if (shape.Item1 is null)
            {
                complaints.Add($"the package has no type {type}");
                continue;
            }

            var arguments = call["arguments"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
            foreach (var argument in arguments.Where(a => shape.Item1.AsObject()[CamelCase(a)] is null))
            {
                complaints.Add($"{type} has no argument {argument}" + (argument.Contains('_', StringComparison.Ordinal) ? $" ({CamelCase(argument)})" : ""));
            }

            var required = shape.Item2?.AsArray().Select(r => r!.GetValue<string>()) ?? [];
            foreach (var missing in required.Where(r => !arguments.Select(CamelCase).Contains(r)))
            {
                complaints.Add($"{type} lacks its required argument {missing}");
            }
        }

        foreach (var attribute in used["outputs"]!.AsArray().Select(o => o!.GetValue<string>()).Where(o => component["properties"]![CamelCase(o)] is null))
        {
            complaints.Add($"PieFedInstance has no output {attribute}");
        }

        return complaints;
    }

    /// <summary>The schema's name of a Python SDK's snake_case name: server_name is serverName.</summary>
    private static string CamelCase(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts[1..].Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private static async Task<IEnumerable<string>> SchemaOutputsAsync()
        => SchemaTests.Component(await SchemaTests.ServedSchemaJsonAsync())["properties"]!.AsObject().Select(p => p.Key);

    [GeneratedRegex(@"^\$\{piefed\.(?<output>\w+)\}$")]
    private static partial Regex OutputReference();
}
