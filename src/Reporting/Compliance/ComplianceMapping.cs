using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;

namespace McpSecurity.Reporting.Compliance;

/// <summary>A versioned mapping from platform evidence to the controls of one framework (files under <c>compliance/</c>).</summary>
public sealed class ComplianceMapping
{
    /// <summary>Framework name used with <c>--framework</c> (<c>soc2</c>, <c>iso27001</c>, <c>nist-csf</c>, <c>nist-800-53</c>, <c>pci-dss</c>).</summary>
    public required string Framework { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Version of the framework mapped.</summary>
    public required string FrameworkVersion { get; init; }

    /// <summary>Semantic version of the mapping itself.</summary>
    public required string MappingVersion { get; init; }

    /// <summary>Who wrote the mapping and what it rests on.</summary>
    public required string Source { get; init; }

    /// <summary>Mapped controls.</summary>
    public required IReadOnlyList<ControlMapping> Controls { get; init; }
}

/// <summary>One control and the evidence that supports it.</summary>
public sealed class ControlMapping
{
    /// <summary>Control identifier as the framework prints it.</summary>
    public required string Id { get; init; }

    /// <summary>Our own short summary of the control.</summary>
    public required string Title { get; init; }

    /// <summary>Evidence kinds (see <see cref="EvidenceKinds"/>).</summary>
    public required IReadOnlyList<string> Evidence { get; init; }
}

/// <summary>The evidence kinds the platform evaluates.</summary>
public static class EvidenceKinds
{
    /// <summary>Analysed SBOMs (inventory and vulnerability scanning).</summary>
    public const string VulnerabilityScanning = "vulnerability-scanning";

    /// <summary>Open findings within their remediation SLA.</summary>
    public const string RemediationSla = "remediation-sla";

    /// <summary>Alerts raised and acknowledged.</summary>
    public const string SecurityMonitoring = "security-monitoring";

    /// <summary>Enabled detection rules with ATT&amp;CK tags.</summary>
    public const string DetectionCoverage = "detection-coverage";

    /// <summary>Incidents and playbook runs.</summary>
    public const string IncidentResponse = "incident-response";

    /// <summary>The audit hash chain verifies.</summary>
    public const string AuditIntegrity = "audit-integrity";

    /// <summary>Users and API keys listed for review.</summary>
    public const string AccessReview = "access-review";

    /// <summary>Every kind.</summary>
    public static IReadOnlyList<string> All { get; } = [VulnerabilityScanning, RemediationSla, SecurityMonitoring, DetectionCoverage, IncidentResponse, AuditIntegrity, AccessReview];
}

/// <summary>The mapping files embedded in this assembly.</summary>
public static class ComplianceMappings
{
    private static readonly ConcurrentDictionary<string, ComplianceMapping> Cache = new(StringComparer.Ordinal);

    /// <summary>Framework names with a mapping.</summary>
    public static IReadOnlyList<string> Frameworks { get; } = ["soc2", "iso27001", "nist-csf", "nist-800-53", "pci-dss"];

    /// <summary>Loads a framework's mapping or throws a <see cref="ValidationException"/> listing the valid names.</summary>
    public static ComplianceMapping Get(string? framework)
    {
        var name = framework?.Trim().ToLowerInvariant();
        if (name is null || !Frameworks.Contains(name, StringComparer.Ordinal))
        {
            throw new ValidationException("framework", $"Unknown framework '{framework}'. Valid: {string.Join(", ", Frameworks)}.");
        }

        return Cache.GetOrAdd(name, static n =>
        {
            using var stream = typeof(ComplianceMappings).Assembly.GetManifestResourceStream("compliance/" + n + ".json")
                ?? throw new InvalidOperationException($"The mapping file compliance/{n}.json is not embedded in the build.");
            return Parse(stream, "compliance/" + n + ".json");
        });
    }

    /// <summary>Parses and validates a mapping file.</summary>
    /// <exception cref="ValidationException">The file is not a valid mapping; the message names the file and field.</exception>
    public static ComplianceMapping Parse(Stream stream, string fileName)
    {
        ComplianceMapping? mapping;
        try
        {
            mapping = JsonSerializer.Deserialize(stream, ComplianceJsonContext.Default.ComplianceMapping);
        }
        catch (JsonException ex)
        {
            throw new ValidationException(fileName, $"{fileName} is not a valid mapping at {ex.Path} (line {ex.LineNumber + 1}): {ex.Message}");
        }

        if (mapping is null || mapping.Controls.Count == 0)
        {
            throw new ValidationException(fileName, fileName + " has no controls.");
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < mapping.Controls.Count; i++)
        {
            var c = mapping.Controls[i];
            if (string.IsNullOrWhiteSpace(c.Id) || !seen.Add(c.Id))
            {
                throw new ValidationException(fileName, $"{fileName}: controls[{i}].id is empty or repeated ('{c.Id}').");
            }

            if (c.Evidence.Count == 0)
            {
                throw new ValidationException(fileName, $"{fileName}: controls[{i}] ({c.Id}) maps no evidence.");
            }

            foreach (var e in c.Evidence)
            {
                if (!EvidenceKinds.All.Contains(e, StringComparer.Ordinal))
                {
                    throw new ValidationException(fileName, $"{fileName}: controls[{i}] ({c.Id}) names unknown evidence '{e}'. Known: {string.Join(", ", EvidenceKinds.All)}.");
                }
            }
        }

        return mapping;
    }
}

/// <summary>Source-generated JSON for mapping files.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ComplianceMapping))]
internal sealed partial class ComplianceJsonContext : JsonSerializerContext;
