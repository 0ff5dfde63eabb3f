using System.Text.Json.Nodes;
using PieFed.Infra.Scripts;

namespace PieFed.Infra.Tests.Support;

internal static class RoleAccess
{
    /// <summary>What a registered Role's rules grant, once for every rule that grants it.</summary>
    public static IReadOnlyList<ApiAccess> Of(JsonNode role) =>
        [.. role.Objects("rules").SelectMany(rule =>
        {
            // Plain rules only: the comparisons and the stand-in API server would misjudge narrowed or URL rules.
            Assert.Empty(rule.Array("resourceNames"));
            Assert.Empty(rule.Array("nonResourceURLs"));
            return from apiGroup in Strings(rule, "apiGroups")
                   from resource in Strings(rule, "resources")
                   from verb in Strings(rule, "verbs")
                   select new ApiAccess(verb, resource, apiGroup);
        })];

    /// <summary>A stable order to compare sets of access in, whatever order they were declared or granted in.</summary>
    public static IEnumerable<ApiAccess> Sorted(IEnumerable<ApiAccess> access) =>
        access.OrderBy(a => a.Group, StringComparer.Ordinal).ThenBy(a => a.Resource, StringComparer.Ordinal).ThenBy(a => a.Verb, StringComparer.Ordinal);

    private static IEnumerable<string> Strings(JsonNode node, string path) => node.Array(path).Select(item => item!.GetValue<string>());
}
