using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Vex;

/// <summary>
/// Finds the VEX statement that decides a finding. A statement applies when its vulnerability (or one of
/// its aliases) is the finding's vulnerability or one of the finding's aliases, and one of its products
/// names the component: a subcomponent that matches the component (its product must then match the
/// SBOM's root component when the root has a purl), a product without subcomponents that matches the
/// component, or a product without subcomponents that is the SBOM's root (the whole product). A statement
/// without products speaks about the product the document accompanies and applies to every component.
/// When several statements apply, the newest wins (statement timestamp, else the document's; later in
/// the document wins a tie), as in OpenVEX's statement history.
/// </summary>
/// <remarks>
/// Package URLs match when type, namespace and name are equal, the statement's version (if any) equals
/// the component's, and every qualifier present on both sides has the same value; a qualifier on one
/// side only (such as <c>arch</c>) does not prevent a match. Identifiers that are not package URLs
/// match the component's reference or purl exactly.
/// </remarks>
public sealed class VexMatcher
{
    private readonly Dictionary<string, List<(int Order, VexStatement Statement)>> _byVulnerability = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Indexes the statements of one or more documents (later documents win ties).</summary>
    public VexMatcher(params IReadOnlyList<VexDocument> documents)
    {
        var order = 0;
        foreach (var d in documents)
        {
            foreach (var s in d.Statements)
            {
                Add(s.Vulnerability, order, s);
                foreach (var a in s.Aliases)
                {
                    Add(a, order, s);
                }

                order++;
            }
        }
    }

    /// <summary>True when no statements were given.</summary>
    public bool IsEmpty => _byVulnerability.Count == 0;

    /// <summary>The deciding statement for a finding, or null when none applies.</summary>
    /// <param name="vulnerabilityId">The finding's vulnerability id.</param>
    /// <param name="aliases">The finding's other ids.</param>
    /// <param name="componentRef">The component's reference in its SBOM.</param>
    /// <param name="componentPurl">The component's purl, or null.</param>
    /// <param name="rootPurl">The purl of the SBOM's root (metadata) component, or null.</param>
    public VexStatement? Find(string vulnerabilityId, IReadOnlyList<string> aliases, string componentRef, string? componentPurl, string? rootPurl)
    {
        var component = componentPurl is not null && PackageUrl.TryParse(componentPurl, out var c, out _) ? c : null;
        var root = rootPurl is not null && PackageUrl.TryParse(rootPurl, out var r, out _) ? r : null;

        (int Order, VexStatement Statement)? best = null;
        Consider(vulnerabilityId);
        foreach (var a in aliases)
        {
            Consider(a);
        }

        return best?.Statement;

        void Consider(string id)
        {
            if (!_byVulnerability.TryGetValue(id, out var candidates))
            {
                return;
            }

            foreach (var c in candidates)
            {
                if (best is { } b && !Newer(c, b))
                {
                    continue;
                }

                if (Applies(c.Statement, componentRef, componentPurl, component, rootPurl, root))
                {
                    best = c;
                }
            }
        }
    }

    /// <summary>True when a statement purl names the component purl (see the type's remarks).</summary>
    public static bool PurlMatches(PackageUrl statement, PackageUrl component)
    {
        if (!string.Equals(statement.Type, component.Type, StringComparison.Ordinal)
            || !string.Equals(statement.Namespace, component.Namespace, StringComparison.Ordinal)
            || !string.Equals(statement.Name, component.Name, StringComparison.Ordinal))
        {
            return false;
        }

        if (statement.Version is not null && !string.Equals(statement.Version, component.Version, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var (key, value) in statement.Qualifiers)
        {
            if (component.Qualifiers.TryGetValue(key, out var other) && !string.Equals(value, other, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Newer((int Order, VexStatement Statement) candidate, (int Order, VexStatement Statement) current)
    {
        var a = candidate.Statement.Timestamp;
        var b = current.Statement.Timestamp;
        if (a is { } ta && b is { } tb && ta != tb)
        {
            return ta > tb;
        }

        return candidate.Order > current.Order;
    }

    private static bool Applies(VexStatement s, string componentRef, string? componentPurlText, PackageUrl? component, string? rootPurlText, PackageUrl? root)
    {
        if (s.Products.Count == 0)
        {
            return true;
        }

        foreach (var p in s.Products)
        {
            if (p.Subcomponents.Count == 0)
            {
                if (Names(p, componentRef, componentPurlText, component) || (root is not null && Names(p, rootPurlText!, rootPurlText, root)))
                {
                    return true;
                }

                continue;
            }

            if (root is not null && !Names(p, rootPurlText!, rootPurlText, root))
            {
                continue;
            }

            foreach (var sub in p.Subcomponents)
            {
                if (Names(sub, componentRef, componentPurlText, component))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool Names(VexProduct p, string reference, string? purlText, PackageUrl? purl)
    {
        if (p.Purl is not null && purl is not null)
        {
            return PurlMatches(p.Purl, purl);
        }

        return string.Equals(p.Id, reference, StringComparison.Ordinal) || (purlText is not null && string.Equals(p.Id, purlText, StringComparison.Ordinal));
    }

    private void Add(string id, int order, VexStatement s)
    {
        if (!_byVulnerability.TryGetValue(id, out var list))
        {
            _byVulnerability[id] = list = [];
        }

        list.Add((order, s));
    }
}
