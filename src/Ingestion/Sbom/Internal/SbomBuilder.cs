namespace McpSecurity.Ingestion.Sbom.Internal;

/// <summary>
/// Collects the parts of a document while a parser walks it, enforces bom-ref uniqueness and reports
/// dependency edges whose references name nothing in the document.
/// </summary>
internal sealed class SbomBuilder
{
    private readonly HashSet<string> _refs = new(StringComparer.Ordinal);

    public List<SbomComponent> Components { get; } = [];

    public List<SbomService> Services { get; } = [];

    public List<SbomDependency> Dependencies { get; } = [];

    public List<SbomVulnerability> Vulnerabilities { get; } = [];

    public List<SbomTool> Tools { get; } = [];

    public List<string> Warnings { get; } = [];

    /// <summary>Records a reference; returns false when it was already recorded.</summary>
    public bool RegisterRef(string reference) => _refs.Add(reference);

    /// <summary>Whether a reference is known.</summary>
    public bool IsKnownRef(string reference) => _refs.Contains(reference);

    /// <summary>Adds warnings for dependency edges whose ends are not in the document.</summary>
    /// <param name="isExternal">References that are allowed to point outside the document.</param>
    public void CheckDependencyRefs(Func<string, bool>? isExternal = null)
    {
        var reported = 0;
        foreach (var edge in Dependencies)
        {
            foreach (var end in (ReadOnlySpan<string>)[edge.From, edge.To])
            {
                if (!_refs.Contains(end) && isExternal?.Invoke(end) != true)
                {
                    // Bound the list: a hostile document could otherwise produce one warning per edge.
                    if (reported++ < 100)
                    {
                        Warnings.Add($"Dependency reference '{end}' names no component or service in the document.");
                    }
                }
            }
        }

        if (reported > 100)
        {
            Warnings.Add($"{reported - 100} further dangling dependency references were not listed.");
        }
    }
}
