using System.Diagnostics;
using System.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using PieFed.Infra.Package;
using PieFed.Infra.Tests.Support;

namespace PieFed.Infra.Tests.Package;

/// <summary>
/// The provider as the Pulumi CLI runs it for <c>pulumi package add</c> (pulumi-language-dotnet
/// v3.112.1, main.go RunPlugin: <c>dotnet run</c> in the directory of PulumiPlugin.yaml, the engine's
/// address as the argument, the port read from the first line of output, then GetSchema over gRPC).
/// The engine here is an address nothing listens on: GetSchema never calls it.
/// </summary>
public sealed class ProviderProcessTests
{
    [Fact]
    public void ThePluginIsADotnetProjectNamedLikeThePackage()
    {
        var plugin = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Package", "PulumiPlugin.yaml"))
            .Where(l => !l.StartsWith('#') && l.Contains(':', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim());

        Assert.Equal("dotnet", plugin["runtime"]);
        Assert.Equal(PieFedPackage.Name, plugin["name"]);
    }

    [Fact]
    public async Task TheRunningProviderServesTheCheckedInSchema()
    {
        using var provider = Process.Start(new ProcessStartInfo("dotnet", [ProviderAssembly(), "127.0.0.1:1"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            var port = await provider.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
            if (!int.TryParse(port, out _))
            {
                Assert.Fail($"The provider's first line is not a port: \"{port}\"; stderr: {await ReadErrorAsync(provider)}");
            }

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var schema = await channel.CreateCallInvoker().AsyncUnaryCall(GetSchema, null, new CallOptions(deadline: DateTime.UtcNow.AddMinutes(1)), []);

            var checkedIn = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Package", "schema.json"));
            Assert.Equal(checkedIn.ReplaceLineEndings("\n").TrimEnd('\n'), schema);
        }
        finally
        {
            provider.Kill(entireProcessTree: true);
            await provider.WaitForExitAsync();
        }
    }

    /// <summary>
    /// pulumirpc.ResourceProvider/GetSchema, whose generated client the SDK keeps internal: an empty
    /// GetSchemaRequest asks for the package's schema, and GetSchemaResponse holds it in field 1.
    /// </summary>
    private static readonly Method<byte[], string> GetSchema = new(
        MethodType.Unary, "pulumirpc.ResourceProvider", "GetSchema",
        Marshallers.Create(request => request, bytes => bytes),
        Marshallers.Create(_ => throw new NotSupportedException(), SchemaField));

    private static string SchemaField(byte[] response)
    {
        var input = new Google.Protobuf.CodedInputStream(response);
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            if (tag == 10)
            {
                return input.ReadString();
            }

            input.SkipLastField();
        }

        return "";
    }

    private static string ProviderAssembly()
    {
        var configuration = typeof(ProviderProcessTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        return Path.Combine(Repository.Root(), "provider", "bin", configuration, "net10.0", "PieFed.Provider.dll");
    }

    private static async Task<string> ReadErrorAsync(Process process)
    {
        process.Kill(entireProcessTree: true);
        return await process.StandardError.ReadToEndAsync();
    }
}
