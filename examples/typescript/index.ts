// A PieFed instance from the piefed package. Development by default; a production stack sets
// `environment: production` and its own database, whose password may come from another resource.
import * as pulumi from "@pulumi/pulumi";
import * as piefed from "@pulumi/piefed";

const config = new pulumi.Config();
const production = config.get("environment") === "production";

const instance = new piefed.PieFedInstance("piefed", {
    environment: production ? "production" : "development",
    namespace: config.get("namespace") ?? "piefed-ts",
    serverName: config.require("serverName"),
    image: {
        tag: "v1.7.7",
    },
    web: {
        replicas: production ? 2 : 1,
    },
    ...(production
        ? {
            database: { host: config.require("databaseHost") },
            redis: { host: config.require("redisHost") },
            databasePassword: config.requireSecret("databasePassword"),
        }
        : {
            bundledServices: { enabled: true },
            media: { accessMode: "ReadWriteOnce", singleNode: true },
            env: { HTTP_PROTOCOL: "http" },
        }),
});

export const namespace = instance.namespace;
export const migrationJobName = instance.migrationJobName;
export const webServiceName = instance.webServiceName;
