using Xunit.Abstractions;

namespace PieFed.Infra.Tests.Support;

/// <summary>
/// Starts the test classes of the migration gate, which run PostgreSQL clients, Python and Kestrel
/// for real, before the mocked ones. A process test class takes tens of seconds, mostly waiting on
/// its processes, and its tests run one after another; the mocked classes take a few seconds each and
/// take turns anyway (<see cref="MockDeployments"/>). Started last, a long class would run alone at the
/// end while the cores idle; started first, the short classes fill the gaps around it.
/// </summary>
public sealed class ProcessTestsFirst : ITestCollectionOrderer
{
    // xunit 2.9.3 names the collection of a class without [Collection] "Test collection for <full class
    // name>" (src/xunit.execution/Sdk/Frameworks/CollectionPerClassTestCollectionFactory.cs).
    private const string ProcessTestsNamespace = "Test collection for PieFed.Infra.Tests.MigrationGate.";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections)
        => testCollections
            .OrderBy(collection => collection.DisplayName.StartsWith(ProcessTestsNamespace, StringComparison.Ordinal) ? 0 : 1)
            .ThenBy(collection => collection.DisplayName, StringComparer.Ordinal);
}
