using Pulumi;

namespace PieFed.Infra.Inputs;

public sealed class ImageArgs : ResourceArgs
{
    [Input("repository")]
    public string? Repository { get; set; }

    [Input("tag", required: true)]
    public string? Tag { get; set; }

    /// <summary>"sha256:…": pins the bytes; the tag stays for people reading the manifests.</summary>
    [Input("digest")]
    public string? Digest { get; set; }

    [Input("pullPolicy")]
    public string? PullPolicy { get; set; }
}
