using McpSecurity.Core.SupplyChain;

namespace McpSecurity.Risk.Scoring;

/// <summary>Dependency depth of every component of an SBOM: 1 for direct dependencies, 2 and more for transitive ones.</summary>
public static class DependencyDepths
{
    /// <summary>
    /// Breadth-first from the roots (components nothing depends on). The described application
    /// (<paramref name="applicationRef"/>) is depth 0, so its dependencies are direct (1); other roots
    /// count as direct themselves. Without any edges no depth is known and the map is empty.
    /// </summary>
    public static Dictionary<string, int> Compute(IReadOnlyList<StoredComponent> components, IReadOnlyList<ComponentEdge> edges, string? applicationRef)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(edges);
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        if (edges.Count == 0)
        {
            return depth;
        }

        var outgoing = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var hasIncoming = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in edges)
        {
            if (!outgoing.TryGetValue(e.From, out var list))
            {
                outgoing[e.From] = list = [];
            }

            list.Add(e.To);
            hasIncoming.Add(e.To);
        }

        var queue = new Queue<string>();
        foreach (var c in components)
        {
            if (!hasIncoming.Contains(c.Ref))
            {
                depth[c.Ref] = string.Equals(c.Ref, applicationRef, StringComparison.Ordinal) ? 0 : 1;
                queue.Enqueue(c.Ref);
            }
        }

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            if (!outgoing.TryGetValue(node, out var next))
            {
                continue;
            }

            var d = depth[node] + 1;
            foreach (var n in next)
            {
                if (!depth.TryGetValue(n, out var known) || known > d)
                {
                    depth[n] = d;
                    queue.Enqueue(n);
                }
            }
        }

        return depth;
    }
}
