using System.Globalization;
using System.Text.Json;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Ingestion.Sbom;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Writes findings as a CycloneDX 1.6 JSON VEX/VDR document: the affected components, and one vulnerability
/// entry per vulnerability and state with its ratings (CVSS vector and score), aliases as references, fix
/// recommendation, the affected components with their versions, and for suppressed or fixed findings an
/// analysis (state, justification, detail).
/// </summary>
public static class CycloneDxVexWriter
{
    private static readonly string[] ComponentTypes =
        ["application", "framework", "library", "container", "platform", "operating-system", "device", "device-driver", "firmware", "file", "machine-learning-model", "data", "cryptographic-asset"];

    /// <summary>Writes the document.</summary>
    /// <param name="findings">The findings to report.</param>
    /// <param name="components">The components of the scanned SBOM (for names, versions and purls).</param>
    /// <param name="source">The scanned SBOM: its serial number and root component describe what the document is about.</param>
    /// <param name="timestamp">The document timestamp.</param>
    public static string Write(IReadOnlyList<NewFinding> findings, IReadOnlyList<StoredComponent> components, SbomDocument source, DateTimeOffset timestamp)
    {
        var byRef = new Dictionary<string, StoredComponent>(StringComparer.Ordinal);
        foreach (var c in components)
        {
            byRef.TryAdd(c.Ref, c);
        }

        var rootRef = source.MetadataComponent is { } root && !string.IsNullOrEmpty(root.BomRef) ? root.BomRef : null;

        // One vulnerability entry per (vulnerability, state, reason), in first-seen order.
        var groups = new List<List<NewFinding>>();
        var groupIndex = new Dictionary<(string, FindingState, string?), int>();
        foreach (var f in findings)
        {
            var key = (f.VulnerabilityId, f.State, f.StateReason);
            if (!groupIndex.TryGetValue(key, out var g))
            {
                groupIndex[key] = g = groups.Count;
                groups.Add([]);
            }

            groups[g].Add(f);
        }

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
            w.WriteString("bomFormat", "CycloneDX");
            w.WriteString("specVersion", "1.6");
            w.WriteString("serialNumber", "urn:uuid:" + Guid.NewGuid().ToString("D"));
            w.WriteNumber("version", 1);
            w.WriteStartObject("metadata");
            w.WriteString("timestamp", timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            w.WriteStartObject("tools");
            w.WriteStartArray("components");
            w.WriteStartObject();
            w.WriteString("type", "application");
            w.WriteString("name", "mcpsec");
            w.WriteString("version", typeof(CycloneDxVexWriter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            if (source.MetadataComponent is { } meta)
            {
                w.WritePropertyName("component");
                WriteComponent(w, rootRef, Type(meta.Type), meta.Name, meta.Version, meta.Purl);
            }

            w.WriteEndObject();

            w.WriteStartArray("components");
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in findings)
            {
                if (f.ComponentRef == rootRef || !written.Add(f.ComponentRef))
                {
                    continue;
                }

                if (byRef.TryGetValue(f.ComponentRef, out var c))
                {
                    WriteComponent(w, c.Ref, Type(c.Type), c.Name, c.Version, c.Purl);
                }
                else
                {
                    WriteComponent(w, f.ComponentRef, "library", f.Purl ?? f.ComponentRef, null, f.Purl);
                }
            }

            w.WriteEndArray();

            w.WriteStartArray("vulnerabilities");
            for (var g = 0; g < groups.Count; g++)
            {
                WriteVulnerability(w, groups[g], g, byRef);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The CycloneDX 1.6 justification for an OpenVEX (or CycloneDX) justification label, or null when none fits.</summary>
    public static string? Justification(string? label) => label switch
    {
        "code_not_present" or "code_not_reachable" or "requires_configuration" or "requires_dependency" or "requires_environment"
            or "protected_by_compiler" or "protected_at_runtime" or "protected_at_perimeter" or "protected_by_mitigating_control" => label,
        "component_not_present" or "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" or "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => null,
    };

    private static void WriteVulnerability(Utf8JsonWriter w, List<NewFinding> group, int index, Dictionary<string, StoredComponent> byRef)
    {
        var first = group[0];
        string? summary = null;
        string? vector = null;
        string? cvssVersion = null;
        using (var doc = JsonDocument.Parse(first.Explanation))
        {
            var e = doc.RootElement;
            summary = e.TryGetProperty("summary", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            vector = e.TryGetProperty("cvssVector", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            cvssVersion = e.TryGetProperty("cvssVersion", out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString() : null;
        }

        w.WriteStartObject();
        w.WriteString("bom-ref", "vulnerability-" + (index + 1).ToString(CultureInfo.InvariantCulture));
        w.WriteString("id", first.VulnerabilityId);
        WriteSource(w, first.VulnerabilityId);
        var aliases = new List<string>();
        foreach (var a in first.Aliases)
        {
            if (a != first.VulnerabilityId)
            {
                aliases.Add(a);
            }
        }

        if (aliases.Count > 0)
        {
            w.WriteStartArray("references");
            foreach (var a in aliases)
            {
                w.WriteStartObject();
                w.WriteString("id", a);
                WriteSource(w, a);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartArray("ratings");
        w.WriteStartObject();
        if (first.Score is { } score)
        {
            w.WriteNumber("score", Math.Round(score, 1));
        }

        w.WriteString("severity", first.Severity.ToUpperInvariant() switch
        {
            "CRITICAL" => "critical",
            "HIGH" => "high",
            "MEDIUM" => "medium",
            "LOW" => "low",
            "NONE" => "none",
            _ => "unknown",
        });
        w.WriteString("method", cvssVersion switch
        {
            "2.0" => "CVSSv2",
            "3.0" => "CVSSv3",
            "3.1" => "CVSSv31",
            "4.0" => "CVSSv4",
            _ => "other",
        });
        if (vector is not null)
        {
            w.WriteString("vector", vector);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        if (!string.IsNullOrEmpty(summary))
        {
            w.WriteString("description", summary);
        }

        if (first.FixedVersions.Count > 0)
        {
            w.WriteString("recommendation", "Upgrade to " + string.Join(" or ", first.FixedVersions) + ".");
        }

        if (first.State is FindingState.Suppressed or FindingState.Fixed)
        {
            w.WriteStartObject("analysis");
            if (first.State == FindingState.Fixed)
            {
                w.WriteString("state", "resolved");
            }
            else if (first.Justification == "false_positive")
            {
                w.WriteString("state", "false_positive");
            }
            else
            {
                w.WriteString("state", "not_affected");
                if (Justification(first.Justification) is { } justification)
                {
                    w.WriteString("justification", justification);
                }
            }

            if (!string.IsNullOrEmpty(first.StateReason))
            {
                w.WriteString("detail", first.StateReason);
            }

            w.WriteEndObject();
        }

        w.WriteStartArray("affects");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in group)
        {
            if (!seen.Add(f.ComponentRef))
            {
                continue;
            }

            w.WriteStartObject();
            w.WriteString("ref", f.ComponentRef);
            if (byRef.TryGetValue(f.ComponentRef, out var c) && !string.IsNullOrEmpty(c.Version))
            {
                w.WriteStartArray("versions");
                w.WriteStartObject();
                w.WriteString("version", c.Version);
                w.WriteString("status", f.State == FindingState.Open ? "affected" : "unaffected");
                w.WriteEndObject();
                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSource(Utf8JsonWriter w, string id)
    {
        var (name, url) = id.StartsWith("CVE-", StringComparison.Ordinal) ? ("NVD", "https://nvd.nist.gov/vuln/detail/" + id)
            : id.StartsWith("GHSA-", StringComparison.Ordinal) ? ("GitHub", "https://github.com/advisories/" + id)
            : ("OSV", "https://osv.dev/vulnerability/" + Uri.EscapeDataString(id));
        w.WriteStartObject("source");
        w.WriteString("name", name);
        w.WriteString("url", url);
        w.WriteEndObject();
    }

    private static void WriteComponent(Utf8JsonWriter w, string? bomRef, string type, string name, string? version, string? purl)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        if (bomRef is not null)
        {
            w.WriteString("bom-ref", bomRef);
        }

        w.WriteString("name", name);
        if (!string.IsNullOrEmpty(version))
        {
            w.WriteString("version", version);
        }

        if (!string.IsNullOrEmpty(purl))
        {
            w.WriteString("purl", purl);
        }

        w.WriteEndObject();
    }

    private static string Type(string type) => Array.IndexOf(ComponentTypes, type) >= 0 ? type : "library";
}
