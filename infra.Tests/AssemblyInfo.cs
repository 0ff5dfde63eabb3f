// Pulumi's Deployment.TestAsync keeps per-run state that parallel runs would share.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
