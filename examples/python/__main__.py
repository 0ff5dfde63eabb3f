"""A PieFed instance from the piefed package. Development by default; a production stack sets
`environment: production` and its own database, whose password may come from another resource."""

import pulumi
import pulumi_piefed as piefed

config = pulumi.Config()
production = config.get("environment") == "production"

instance = piefed.PieFedInstance(
    "piefed",
    environment="production" if production else "development",
    namespace=config.get("namespace") or "piefed-py",
    server_name=config.require("serverName"),
    image=piefed.ImageArgs(tag="v1.7.7"),
    web=piefed.WebArgs(replicas=2 if production else 1),
    # Production: servers of its own, the password as a secret (or another resource's output).
    database=piefed.DatabaseArgs(host=config.require("databaseHost")) if production else None,
    redis=piefed.RedisArgs(host=config.require("redisHost")) if production else None,
    database_password=config.require_secret("databasePassword") if production else None,
    # Development: bundled PostgreSQL and Redis, on a single-node cluster.
    bundled_services=None if production else piefed.BundledServicesArgs(enabled=True),
    media=None if production else piefed.MediaArgs(access_mode="ReadWriteOnce", single_node=True),
    env=None if production else {"HTTP_PROTOCOL": "http"},
)

pulumi.export("namespace", instance.namespace)
pulumi.export("migrationJobName", instance.migration_job_name)
pulumi.export("webServiceName", instance.web_service_name)
