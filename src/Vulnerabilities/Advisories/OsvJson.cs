using System.Text.Json;
using System.Text.Json.Serialization;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>Wire shape of an OSV document; mapped and validated into <see cref="OsvAdvisory"/>.</summary>
internal sealed class OsvDocumentDto
{
    [JsonPropertyName("schema_version")]
    public string? SchemaVersion { get; set; }

    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("modified")]
    public string? Modified { get; set; }

    [JsonPropertyName("published")]
    public string? Published { get; set; }

    [JsonPropertyName("withdrawn")]
    public string? Withdrawn { get; set; }

    [JsonPropertyName("aliases")]
    public List<string?>? Aliases { get; set; }

    [JsonPropertyName("related")]
    public List<string?>? Related { get; set; }

    [JsonPropertyName("summary")]
    public string? Summary { get; set; }

    [JsonPropertyName("details")]
    public string? Details { get; set; }

    [JsonPropertyName("severity")]
    public List<OsvSeverityDto?>? Severity { get; set; }

    [JsonPropertyName("affected")]
    public List<OsvAffectedDto?>? Affected { get; set; }

    [JsonPropertyName("references")]
    public List<OsvReferenceDto?>? References { get; set; }

    [JsonPropertyName("database_specific")]
    public JsonElement? DatabaseSpecific { get; set; }
}

internal sealed class OsvSeverityDto
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("score")]
    public string? Score { get; set; }
}

internal sealed class OsvReferenceDto
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("url")]
    public string? Url { get; set; }
}

internal sealed class OsvPackageDto
{
    [JsonPropertyName("ecosystem")]
    public string? Ecosystem { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("purl")]
    public string? Purl { get; set; }
}

internal sealed class OsvAffectedDto
{
    [JsonPropertyName("package")]
    public OsvPackageDto? Package { get; set; }

    [JsonPropertyName("severity")]
    public List<OsvSeverityDto?>? Severity { get; set; }

    [JsonPropertyName("ranges")]
    public List<OsvRangeDto?>? Ranges { get; set; }

    [JsonPropertyName("versions")]
    public List<string?>? Versions { get; set; }

    [JsonPropertyName("ecosystem_specific")]
    public JsonElement? EcosystemSpecific { get; set; }

    [JsonPropertyName("database_specific")]
    public JsonElement? DatabaseSpecific { get; set; }
}

internal sealed class OsvRangeDto
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("repo")]
    public string? Repo { get; set; }

    [JsonPropertyName("events")]
    public List<OsvEventDto?>? Events { get; set; }

    [JsonPropertyName("database_specific")]
    public JsonElement? DatabaseSpecific { get; set; }
}

internal sealed class OsvEventDto
{
    [JsonPropertyName("introduced")]
    public string? Introduced { get; set; }

    [JsonPropertyName("fixed")]
    public string? Fixed { get; set; }

    [JsonPropertyName("last_affected")]
    public string? LastAffected { get; set; }

    [JsonPropertyName("limit")]
    public string? Limit { get; set; }
}

/// <summary>Source-generated serialisation for the advisory feeds.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata, AllowTrailingCommas = false, ReadCommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64)]
[JsonSerializable(typeof(OsvDocumentDto))]
[JsonSerializable(typeof(KevCatalogDto))]
[JsonSerializable(typeof(NvdResponseDto))]
internal sealed partial class AdvisoryJsonContext : JsonSerializerContext
{
}
