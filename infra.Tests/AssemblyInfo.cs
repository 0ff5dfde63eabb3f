// Test classes run in parallel: each process test has a PostgreSQL database, a Redis database and a
// temporary directory of its own, and the mocked Pulumi deployments take turns (MockDeployments).
// Most of a process test's time is spent waiting on processes, sockets and deadlines, so more tests
// run at once than there are cores: every process test class starts at once (ProcessTestsFirst).
[assembly: CollectionBehavior(MaxParallelThreads = 16)]
[assembly: TestCollectionOrderer("PieFed.Infra.Tests.Support.ProcessTestsFirst", "PieFed.Infra.Tests")]
