using PieFed.Infra;
using Pulumi;

return await Deployment.RunAsync(PieFedProgram.Run);
