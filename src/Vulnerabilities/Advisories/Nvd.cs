using System.Text.Json;
using System.Text.Json.Serialization;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// A CVE from the NVD CVE API 2.0, mapped into OSV form (<see cref="Advisory"/>: id, description,
/// dates, CVSS vectors as severities, references; rejected CVEs are withdrawn) with the NVD-only
/// parts attached: CPE applicability configurations, every CVSS metric and the CWE ids.
/// </summary>
public sealed class NvdRecord
{
    /// <summary>The CVE in OSV form. It has no <c>affected</c> packages: NVD describes products by CPE.</summary>
    public required OsvAdvisory Advisory { get; init; }

    /// <summary>The NVD analysis status, such as <c>Analyzed</c>, <c>Modified</c> or <c>Rejected</c>.</summary>
    public string? VulnStatus { get; init; }

    /// <summary>The CVSS metrics of every source and version.</summary>
    public IReadOnlyList<NvdCvssMetric> Metrics { get; init; } = [];

    /// <summary>CWE ids from the weaknesses.</summary>
    public IReadOnlyList<string> Cwes { get; init; } = [];

    /// <summary>The CPE applicability configurations.</summary>
    public IReadOnlyList<NvdConfiguration> Configurations { get; init; } = [];
}

/// <summary>One CVSS metric of an NVD CVE.</summary>
/// <param name="Source">Who scored it (NVD or the CNA e-mail).</param>
/// <param name="Type"><c>Primary</c> or <c>Secondary</c>.</param>
/// <param name="Version">The CVSS version: 2.0, 3.0, 3.1 or 4.0.</param>
/// <param name="Vector">The vector string.</param>
/// <param name="BaseScore">The base score NVD gives.</param>
public sealed record NvdCvssMetric(string? Source, string? Type, string Version, string Vector, double? BaseScore);

/// <summary>A CPE applicability configuration: nodes combined by <see cref="Operator"/>.</summary>
/// <param name="Operator"><c>AND</c> or <c>OR</c>; null means OR.</param>
/// <param name="Negate">Whether the result is negated.</param>
/// <param name="Nodes">The nodes.</param>
public sealed record NvdConfiguration(string? Operator, bool Negate, IReadOnlyList<NvdNode> Nodes);

/// <summary>A node of CPE matches combined by <see cref="Operator"/>.</summary>
/// <param name="Operator"><c>AND</c> or <c>OR</c>.</param>
/// <param name="Negate">Whether the result is negated.</param>
/// <param name="CpeMatches">The CPE match criteria.</param>
public sealed record NvdNode(string Operator, bool Negate, IReadOnlyList<NvdCpeMatch> CpeMatches);

/// <summary>A CPE match criterion with an optional version range.</summary>
/// <param name="Vulnerable">Whether matching products are vulnerable (false: platform only).</param>
/// <param name="Criteria">The CPE 2.3 name, such as <c>cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*</c>.</param>
/// <param name="MatchCriteriaId">NVD's id of the criterion.</param>
/// <param name="VersionStartIncluding">Lowest affected version, inclusive.</param>
/// <param name="VersionStartExcluding">Lowest affected version, exclusive.</param>
/// <param name="VersionEndIncluding">Highest affected version, inclusive.</param>
/// <param name="VersionEndExcluding">First unaffected version.</param>
public sealed record NvdCpeMatch(
    bool Vulnerable, string Criteria, string? MatchCriteriaId, string? VersionStartIncluding, string? VersionStartExcluding,
    string? VersionEndIncluding, string? VersionEndExcluding);

/// <summary>Reads NVD CVE API 2.0 responses (<c>{"vulnerabilities": [{"cve": {...}}]}</c>).</summary>
public static class NvdImporter
{
    /// <summary>Reads one NVD API 2.0 JSON response or feed file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The CVEs.</returns>
    /// <exception cref="AdvisoryFormatException">The document is malformed; the message names the JSON path.</exception>
    public static IReadOnlyList<NvdRecord> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses one NVD API 2.0 JSON response.</summary>
    /// <param name="utf8Json">The UTF-8 JSON.</param>
    /// <param name="source">The file name for messages.</param>
    /// <returns>The CVEs in document order.</returns>
    /// <exception cref="AdvisoryFormatException">The document is malformed; the message names the JSON path.</exception>
    public static IReadOnlyList<NvdRecord> Parse(ReadOnlySpan<byte> utf8Json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        NvdResponseDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(utf8Json, AdvisoryJsonContext.Default.NvdResponseDto);
        }
        catch (JsonException ex)
        {
            throw new AdvisoryFormatException(source, OsvImporter.JsonLocation(ex), OsvImporter.FirstSentence(ex.Message), ex);
        }

        if (dto?.Vulnerabilities is null)
        {
            throw new AdvisoryFormatException(source, "$.vulnerabilities", "required array is missing");
        }

        var result = new List<NvdRecord>(dto.Vulnerabilities.Count);
        for (var i = 0; i < dto.Vulnerabilities.Count; i++)
        {
            var path = $"$.vulnerabilities[{i}].cve";
            var cve = dto.Vulnerabilities[i]?.Cve ?? throw new AdvisoryFormatException(source, path, "required object is missing");
            result.Add(Map(cve, source, path));
        }

        return result;
    }

    private static NvdRecord Map(NvdCveDto cve, string source, string path)
    {
        if (string.IsNullOrWhiteSpace(cve.Id))
        {
            throw new AdvisoryFormatException(source, $"{path}.id", "required member is missing");
        }

        var published = Time(cve.Published, source, $"{path}.published");
        var modified = Time(cve.LastModified, source, $"{path}.lastModified");
        string? details = null;
        if (cve.Descriptions is not null)
        {
            foreach (var d in cve.Descriptions)
            {
                if (d?.Value is not null && (details is null || string.Equals(d.Lang, "en", StringComparison.OrdinalIgnoreCase)))
                {
                    details = d.Value;
                    if (string.Equals(d.Lang, "en", StringComparison.OrdinalIgnoreCase))
                    {
                        break;
                    }
                }
            }
        }

        var metrics = new List<NvdCvssMetric>();
        var severities = new List<OsvSeverity>();
        AddMetrics(cve.Metrics?.CvssMetricV40, "4.0", "CVSS_V4", metrics, severities, source, $"{path}.metrics.cvssMetricV40");
        AddMetrics(cve.Metrics?.CvssMetricV31, "3.1", "CVSS_V3", metrics, severities, source, $"{path}.metrics.cvssMetricV31");
        AddMetrics(cve.Metrics?.CvssMetricV30, "3.0", "CVSS_V3", metrics, severities, source, $"{path}.metrics.cvssMetricV30");
        AddMetrics(cve.Metrics?.CvssMetricV2, "2.0", "CVSS_V2", metrics, severities, source, $"{path}.metrics.cvssMetricV2");

        var cwes = new List<string>();
        foreach (var w in cve.Weaknesses ?? [])
        {
            foreach (var d in w?.Description ?? [])
            {
                if (d?.Value is { } v && v.StartsWith("CWE-", StringComparison.OrdinalIgnoreCase) && !cwes.Contains(v))
                {
                    cwes.Add(v);
                }
            }
        }

        var references = new List<OsvReference>();
        foreach (var r in cve.References ?? [])
        {
            if (r?.Url is { Length: > 0 } url)
            {
                var advisory = r.Tags?.Contains("Vendor Advisory") == true || r.Tags?.Contains("Third Party Advisory") == true;
                references.Add(new OsvReference(advisory ? "ADVISORY" : r.Tags?.Contains("Patch") == true ? "FIX" : "WEB", url));
            }
        }

        var configurations = new List<NvdConfiguration>();
        var configs = cve.Configurations ?? [];
        for (var c = 0; c < configs.Count; c++)
        {
            var config = configs[c] ?? throw new AdvisoryFormatException(source, $"{path}.configurations[{c}]", "null is not allowed");
            var nodes = new List<NvdNode>();
            var nodeList = config.Nodes ?? [];
            for (var n = 0; n < nodeList.Count; n++)
            {
                var node = nodeList[n] ?? throw new AdvisoryFormatException(source, $"{path}.configurations[{c}].nodes[{n}]", "null is not allowed");
                var matches = new List<NvdCpeMatch>();
                var matchList = node.CpeMatch ?? [];
                for (var m = 0; m < matchList.Count; m++)
                {
                    var match = matchList[m];
                    if (match?.Criteria is not { Length: > 0 } criteria)
                    {
                        throw new AdvisoryFormatException(source, $"{path}.configurations[{c}].nodes[{n}].cpeMatch[{m}].criteria", "required member is missing");
                    }

                    matches.Add(new NvdCpeMatch(match.Vulnerable, criteria, match.MatchCriteriaId, match.VersionStartIncluding, match.VersionStartExcluding, match.VersionEndIncluding, match.VersionEndExcluding));
                }

                nodes.Add(new NvdNode(node.Operator ?? "OR", node.Negate, matches));
            }

            configurations.Add(new NvdConfiguration(config.Operator, config.Negate, nodes));
        }

        var rejected = string.Equals(cve.VulnStatus, "Rejected", StringComparison.OrdinalIgnoreCase);
        return new NvdRecord
        {
            Advisory = new OsvAdvisory
            {
                Id = cve.Id,
                Published = published,
                Modified = modified,
                Withdrawn = rejected ? modified ?? published ?? DateTimeOffset.UnixEpoch : null,
                Details = details,
                Severity = severities,
                References = references,
                Source = source,
            },
            VulnStatus = cve.VulnStatus,
            Metrics = metrics,
            Cwes = cwes,
            Configurations = configurations,
        };
    }

    private static void AddMetrics(List<NvdMetricDto?>? list, string version, string osvType, List<NvdCvssMetric> metrics, List<OsvSeverity> severities, string source, string path)
    {
        if (list is null)
        {
            return;
        }

        for (var i = 0; i < list.Count; i++)
        {
            var vector = list[i]?.CvssData?.VectorString;
            if (string.IsNullOrWhiteSpace(vector))
            {
                throw new AdvisoryFormatException(source, $"{path}[{i}].cvssData.vectorString", "required member is missing");
            }

            var m = list[i]!;
            metrics.Add(new NvdCvssMetric(m.Source, m.Type, m.CvssData!.Version ?? version, vector, m.CvssData.BaseScore));
            if (string.Equals(m.Type, "Primary", StringComparison.OrdinalIgnoreCase) || list.Count == 1)
            {
                severities.Add(new OsvSeverity(osvType, vector));
            }
        }
    }

    private static DateTimeOffset? Time(string? text, string source, string path)
    {
        if (text is null)
        {
            return null;
        }

        return Timestamps.TryParse(text, out var value)
            ? value
            : throw new AdvisoryFormatException(source, path, $"'{text}' is not a timestamp (expected e.g. 2021-12-10T10:15:09.143)");
    }
}

internal sealed class NvdResponseDto
{
    [JsonPropertyName("vulnerabilities")]
    public List<NvdItemDto?>? Vulnerabilities { get; set; }
}

internal sealed class NvdItemDto
{
    [JsonPropertyName("cve")]
    public NvdCveDto? Cve { get; set; }
}

internal sealed class NvdCveDto
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("published")]
    public string? Published { get; set; }

    [JsonPropertyName("lastModified")]
    public string? LastModified { get; set; }

    [JsonPropertyName("vulnStatus")]
    public string? VulnStatus { get; set; }

    [JsonPropertyName("descriptions")]
    public List<NvdLangStringDto?>? Descriptions { get; set; }

    [JsonPropertyName("metrics")]
    public NvdMetricsDto? Metrics { get; set; }

    [JsonPropertyName("weaknesses")]
    public List<NvdWeaknessDto?>? Weaknesses { get; set; }

    [JsonPropertyName("configurations")]
    public List<NvdConfigurationDto?>? Configurations { get; set; }

    [JsonPropertyName("references")]
    public List<NvdReferenceDto?>? References { get; set; }
}

internal sealed class NvdLangStringDto
{
    [JsonPropertyName("lang")]
    public string? Lang { get; set; }

    [JsonPropertyName("value")]
    public string? Value { get; set; }
}

internal sealed class NvdMetricsDto
{
    [JsonPropertyName("cvssMetricV40")]
    public List<NvdMetricDto?>? CvssMetricV40 { get; set; }

    [JsonPropertyName("cvssMetricV31")]
    public List<NvdMetricDto?>? CvssMetricV31 { get; set; }

    [JsonPropertyName("cvssMetricV30")]
    public List<NvdMetricDto?>? CvssMetricV30 { get; set; }

    [JsonPropertyName("cvssMetricV2")]
    public List<NvdMetricDto?>? CvssMetricV2 { get; set; }
}

internal sealed class NvdMetricDto
{
    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("cvssData")]
    public NvdCvssDataDto? CvssData { get; set; }
}

internal sealed class NvdCvssDataDto
{
    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("vectorString")]
    public string? VectorString { get; set; }

    [JsonPropertyName("baseScore")]
    public double? BaseScore { get; set; }
}

internal sealed class NvdWeaknessDto
{
    [JsonPropertyName("description")]
    public List<NvdLangStringDto?>? Description { get; set; }
}

internal sealed class NvdConfigurationDto
{
    [JsonPropertyName("operator")]
    public string? Operator { get; set; }

    [JsonPropertyName("negate")]
    public bool Negate { get; set; }

    [JsonPropertyName("nodes")]
    public List<NvdNodeDto?>? Nodes { get; set; }
}

internal sealed class NvdNodeDto
{
    [JsonPropertyName("operator")]
    public string? Operator { get; set; }

    [JsonPropertyName("negate")]
    public bool Negate { get; set; }

    [JsonPropertyName("cpeMatch")]
    public List<NvdCpeMatchDto?>? CpeMatch { get; set; }
}

internal sealed class NvdCpeMatchDto
{
    [JsonPropertyName("vulnerable")]
    public bool Vulnerable { get; set; }

    [JsonPropertyName("criteria")]
    public string? Criteria { get; set; }

    [JsonPropertyName("matchCriteriaId")]
    public string? MatchCriteriaId { get; set; }

    [JsonPropertyName("versionStartIncluding")]
    public string? VersionStartIncluding { get; set; }

    [JsonPropertyName("versionStartExcluding")]
    public string? VersionStartExcluding { get; set; }

    [JsonPropertyName("versionEndIncluding")]
    public string? VersionEndIncluding { get; set; }

    [JsonPropertyName("versionEndExcluding")]
    public string? VersionEndExcluding { get; set; }
}

internal sealed class NvdReferenceDto
{
    [JsonPropertyName("url")]
    public string? Url { get; set; }

    [JsonPropertyName("tags")]
    public List<string>? Tags { get; set; }
}
