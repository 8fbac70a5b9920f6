using System.Security.Cryptography;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Storage;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Core.Tenancy;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Vulnerabilities.Matching;
using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Takes an uploaded SBOM: parses and validates it, stores the version with its components and
/// dependency edges in one transaction, and queues its analysis job.
/// </summary>
public sealed class SbomIngestor(IStore store)
{
    /// <summary>Job kind of the analysis queued after each upload.</summary>
    public const string AnalyseJobKind = "sbom.analyse";

    /// <summary>Parses, stores and queues analysis; bad documents raise <see cref="ValidationException"/> naming where and why.</summary>
    public async Task<(SbomVersion Sbom, Job Job)> UploadAsync(TenantScope scope, string project, string? label, ReadOnlyMemory<byte> content, string? fileName, Actor actor, CancellationToken cancellationToken)
    {
        var document = Parse(content, fileName);
        var upload = ToUpload(project, label, document, content);
        var tenant = store.ForTenant(scope);
        var sbom = await tenant.SupplyChain.AddSbomAsync(upload, actor, cancellationToken).ConfigureAwait(false);
        var job = await tenant.EnqueueJobAsync(AnalyseJobKind, $$"""{"sbom":"{{sbom.Id}}"}""", actor, cancellationToken).ConfigureAwait(false);
        return (sbom, job);
    }

    /// <summary>Reads an SBOM, turning format errors into validation errors with their location.</summary>
    public static SbomDocument Parse(ReadOnlyMemory<byte> content, string? fileName)
    {
        try
        {
            return SbomReader.Read(content, fileName);
        }
        catch (SbomFormatException ex)
        {
            throw new ValidationException(ex.Location ?? "document", ex.Message);
        }
    }

    /// <summary>Maps a parsed SBOM to what the store keeps.</summary>
    public static SbomUpload ToUpload(string project, string? label, SbomDocument document, ReadOnlyMemory<byte> content)
    {
        var components = new List<StoredComponent>(document.Components.Count + 1);
        var refs = new HashSet<string>(StringComparer.Ordinal);
        if (document.MetadataComponent is { } root && !document.Components.Contains(root))
        {
            Add(root, "root");
        }

        for (var i = 0; i < document.Components.Count; i++)
        {
            Add(document.Components[i], "component-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var edges = new List<ComponentEdge>(document.Dependencies.Count);
        foreach (var d in document.Dependencies)
        {
            if (d.Relationship is SbomRelationship.DependsOn or SbomRelationship.Contains && refs.Contains(d.From) && refs.Contains(d.To) && d.From != d.To)
            {
                edges.Add(new ComponentEdge(d.From, d.To));
            }
        }

        var versionLabel = string.IsNullOrWhiteSpace(label)
            ? document.MetadataComponent?.Version ?? document.Timestamp?.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) ?? "unversioned"
            : label;
        return new SbomUpload(project, versionLabel, document.Format.ToString(), document.SpecVersion, document.SerialNumber,
            Convert.ToHexStringLower(SHA256.HashData(content.Span)), components, edges, content);

        void Add(SbomComponent c, string fallbackRef)
        {
            var reference = string.IsNullOrEmpty(c.BomRef) ? fallbackRef : c.BomRef;
            if (!refs.Add(reference))
            {
                return;
            }

            string? ecosystem = null;
            string? key = null;
            string? purl = null;
            if (c.Purl is { } p && PackageUrl.TryParse(p, out var parsed, out _))
            {
                purl = parsed!.ToString();
                ecosystem = Ecosystems.CanonicalName(Ecosystems.FromPurl(parsed), out _);
                key = Ecosystems.NormalizeName(ecosystem, Ecosystems.PackageName(parsed));
            }
            else
            {
                purl = c.Purl;
            }

            components.Add(new StoredComponent(reference, c.Name, c.Version, purl, ecosystem, key, c.Type, c.ParentRef));
        }
    }
}
