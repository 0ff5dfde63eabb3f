using PieFed.Infra.Configuration;

namespace PieFed.Infra;

/// <summary>The program's body, callable from the unit tests as from <c>Program.cs</c>.</summary>
public static class PieFedProgram
{
    public const string InstanceName = "piefed";

    public static IDictionary<string, object?> Run()
        => new PieFedInstance(InstanceName, new PieFedInstanceArgs { Settings = SettingsLoader.Load() }).Outputs;
}
