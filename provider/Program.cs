using PieFed.Infra.Package;

await PieFedPackage.Serve(args);
