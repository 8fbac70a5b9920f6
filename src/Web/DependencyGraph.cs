using McpSecurity.Core.SupplyChain;

namespace McpSecurity.Web;

/// <summary>A component placed in the drawing.</summary>
/// <param name="Ref">Component reference in its SBOM.</param>
/// <param name="Label">Short label (name and version).</param>
/// <param name="Depth">Shortest number of dependency edges from a root; -1 when no root reaches it (inside a cycle nothing depends on).</param>
/// <param name="X">Centre, in SVG units.</param>
/// <param name="Y">Centre, in SVG units.</param>
public sealed record GraphNode(string Ref, string Label, int Depth, double X, double Y);

/// <summary>A dependency edge between two drawn components.</summary>
/// <param name="From">The depending component.</param>
/// <param name="To">The dependency.</param>
public sealed record GraphEdge(GraphNode From, GraphNode To);

/// <summary>
/// The layout of an SBOM's dependency graph: layered by depth from the roots (components nothing depends on),
/// wide layers wrapped onto several rows, at most a given number of nodes drawn (the shallowest first, so every
/// drawn node's parent on a shortest path is drawn too).
/// </summary>
/// <param name="Nodes">Drawn nodes.</param>
/// <param name="Edges">Edges whose both ends are drawn.</param>
/// <param name="TotalNodes">Components of the SBOM.</param>
/// <param name="TotalEdges">Dependency edges between components of the SBOM.</param>
/// <param name="Depths">Depth of every component (-1 when no root reaches it).</param>
/// <param name="Width">Drawing width.</param>
/// <param name="Height">Drawing height.</param>
/// <param name="Layers">Each drawn depth with the height of its first row (for the depth labels in the margin).</param>
public sealed record DependencyGraph(IReadOnlyList<GraphNode> Nodes, IReadOnlyList<GraphEdge> Edges, int TotalNodes, int TotalEdges,
    IReadOnlyDictionary<string, int> Depths, double Width, double Height, IReadOnlyList<(int Depth, double Y)> Layers)
{
    /// <summary>Width of the left margin that holds the depth labels.</summary>
    public const double Margin = 64;

    /// <summary>Horizontal distance between two nodes of a row.</summary>
    public const double Spacing = 34;

    /// <summary>Largest horizontal distance between two nodes of a short row.</summary>
    public const double MaxSpacing = 260;

    /// <summary>Vertical distance between two rows.</summary>
    public const double RowHeight = 70;

    /// <summary>Most nodes in one row; wider layers wrap.</summary>
    public const int MaxPerRow = 30;

    /// <summary>True when not every component is drawn.</summary>
    public bool Truncated => Nodes.Count < TotalNodes;

    /// <summary>Lays out <paramref name="components"/> and <paramref name="edges"/> (edges to unknown references are ignored), drawing at most <paramref name="maxNodes"/> nodes.</summary>
    public static DependencyGraph Layout(IReadOnlyList<StoredComponent> components, IReadOnlyList<ComponentEdge> edges, int maxNodes)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(edges);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNodes, 1);
        var byRef = new Dictionary<string, StoredComponent>(components.Count, StringComparer.Ordinal);
        foreach (var c in components)
        {
            byRef.TryAdd(c.Ref, c);
        }

        var children = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var hasParent = new HashSet<string>(StringComparer.Ordinal);
        var known = new List<ComponentEdge>(edges.Count);
        foreach (var e in edges)
        {
            if (!byRef.ContainsKey(e.From) || !byRef.ContainsKey(e.To) || e.From == e.To)
            {
                continue;
            }

            known.Add(e);
            if (!children.TryGetValue(e.From, out var list))
            {
                children[e.From] = list = [];
            }

            list.Add(e.To);
            hasParent.Add(e.To);
        }

        // Breadth first from the roots, in component order: the discovery order is sorted by depth.
        var depth = new Dictionary<string, int>(byRef.Count, StringComparer.Ordinal);
        var order = new List<string>(byRef.Count);
        var queue = new Queue<string>();
        foreach (var c in byRef.Keys)
        {
            if (!hasParent.Contains(c))
            {
                depth[c] = 0;
                order.Add(c);
                queue.Enqueue(c);
            }
        }

        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            if (!children.TryGetValue(n, out var next))
            {
                continue;
            }

            foreach (var child in next)
            {
                if (depth.TryAdd(child, depth[n] + 1))
                {
                    order.Add(child);
                    queue.Enqueue(child);
                }
            }
        }

        foreach (var c in byRef.Keys)
        {
            if (depth.TryAdd(c, -1))
            {
                order.Add(c);
            }
        }

        // Rows: each depth starts a new row and wraps after MaxPerRow nodes; unreached nodes come last.
        var drawn = Math.Min(maxNodes, order.Count);
        var rows = new List<List<string>>();
        var lastDepth = int.MinValue;
        for (var i = 0; i < drawn; i++)
        {
            var d = depth[order[i]];
            if (d != lastDepth || rows[^1].Count == MaxPerRow)
            {
                rows.Add([]);
                lastDepth = d;
            }

            rows[^1].Add(order[i]);
        }

        var widest = 1;
        foreach (var r in rows)
        {
            widest = Math.Max(widest, r.Count);
        }

        var width = Math.Max((widest * Spacing) + Spacing, 3 * MaxSpacing);
        var nodes = new List<GraphNode>(drawn);
        var layers = new List<(int Depth, double Y)>();
        var placed = new Dictionary<string, GraphNode>(drawn, StringComparer.Ordinal);
        for (var row = 0; row < rows.Count; row++)
        {
            // Short rows (the roots, typically) spread out so their labels have room.
            var r = rows[row];
            var step = Math.Clamp(width / (r.Count + 1), Spacing, MaxSpacing);
            var left = Margin + ((width - ((r.Count - 1) * step)) / 2);
            var rowDepth = depth[r[0]];
            if (layers.Count == 0 || layers[^1].Depth != rowDepth)
            {
                layers.Add((rowDepth, (RowHeight / 2) + (row * RowHeight)));
            }

            for (var i = 0; i < r.Count; i++)
            {
                var c = byRef[r[i]];
                var node = new GraphNode(c.Ref, c.Version is null ? c.Name : c.Name + "@" + c.Version, depth[c.Ref], left + (i * step), (RowHeight / 2) + (row * RowHeight));
                nodes.Add(node);
                placed[c.Ref] = node;
            }
        }

        var drawnEdges = new List<GraphEdge>();
        foreach (var e in known)
        {
            if (placed.TryGetValue(e.From, out var from) && placed.TryGetValue(e.To, out var to))
            {
                drawnEdges.Add(new GraphEdge(from, to));
            }
        }

        return new DependencyGraph(nodes, drawnEdges, byRef.Count, known.Count, depth, width + Margin, Math.Max(RowHeight, rows.Count * RowHeight), layers);
    }
}
