using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Vulnerabilities.Advisories;

namespace McpSecurity.Vulnerabilities.Tests.Advisories;

/// <summary>
/// The OSV parser the importer used before the one-pass reader: System.Text.Json deserialisation into wire
/// classes, then mapping and validation. Kept as the reference the reader is compared with.
/// </summary>
internal static class SerializerOsvParser
{
    public static OsvAdvisory Parse(ReadOnlySpan<byte> utf8Json, string source)
    {
        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        OsvDocumentDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(utf8Json, ReferenceOsvJsonContext.Default.OsvDocumentDto);
        }
        catch (JsonException ex)
        {
            throw new AdvisoryFormatException(source, OsvImporter.JsonLocation(ex), OsvImporter.FirstSentence(ex.Message), ex);
        }

        if (dto is null)
        {
            throw new AdvisoryFormatException(source, "$", "the document is null; expected an OSV advisory object");
        }

        return Map(dto, source);
    }

    private static OsvAdvisory Map(OsvDocumentDto dto, string source)
    {
        if (string.IsNullOrWhiteSpace(dto.Id))
        {
            throw new AdvisoryFormatException(source, "$.id", "required member 'id' is missing or empty");
        }

        return new OsvAdvisory
        {
            Id = dto.Id,
            SchemaVersion = dto.SchemaVersion,
            Modified = Time(dto.Modified, source, "$.modified"),
            Published = Time(dto.Published, source, "$.published"),
            Withdrawn = Time(dto.Withdrawn, source, "$.withdrawn"),
            Aliases = Strings(dto.Aliases, source, "$.aliases"),
            Related = Strings(dto.Related, source, "$.related"),
            Summary = dto.Summary,
            Details = dto.Details,
            Severity = Severities(dto.Severity, source, "$.severity"),
            Affected = AffectedList(dto.Affected, source),
            References = References(dto.References, source),
            DatabaseSpecific = Raw(dto.DatabaseSpecific),
            Source = source,
        };
    }

    private static DateTimeOffset? Time(string? text, string source, string path)
    {
        if (text is null)
        {
            return null;
        }

        return Timestamps.TryParse(text, out var value)
            ? value
            : throw new AdvisoryFormatException(source, path, $"'{Clip(text)}' is not an RFC 3339 timestamp (expected e.g. 2021-07-05T00:01:17.388273Z)");
    }

    private static string[] Strings(List<string?>? list, string source, string path)
    {
        if (list is null || list.Count == 0)
        {
            return [];
        }

        var result = new string[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            result[i] = list[i] ?? throw new AdvisoryFormatException(source, $"{path}[{i}]", "null is not allowed; expected a string");
        }

        return result;
    }

    private static OsvSeverity[] Severities(List<OsvSeverityDto?>? list, string source, string path)
    {
        if (list is null || list.Count == 0)
        {
            return [];
        }

        var result = new OsvSeverity[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var s = list[i];
            if (s is null || string.IsNullOrWhiteSpace(s.Type) || s.Score is null)
            {
                throw new AdvisoryFormatException(source, $"{path}[{i}]", "a severity needs 'type' and 'score'");
            }

            result[i] = new OsvSeverity(s.Type, s.Score);
        }

        return result;
    }

    private static OsvReference[] References(List<OsvReferenceDto?>? list, string source)
    {
        if (list is null || list.Count == 0)
        {
            return [];
        }

        var result = new OsvReference[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var r = list[i];
            if (r is null || string.IsNullOrWhiteSpace(r.Url))
            {
                throw new AdvisoryFormatException(source, $"$.references[{i}]", "a reference needs 'url'");
            }

            result[i] = new OsvReference(r.Type ?? "WEB", r.Url);
        }

        return result;
    }

    private static OsvAffected[] AffectedList(List<OsvAffectedDto?>? list, string source)
    {
        if (list is null || list.Count == 0)
        {
            return [];
        }

        var result = new OsvAffected[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var path = $"$.affected[{i}]";
            var a = list[i] ?? throw new AdvisoryFormatException(source, path, "null is not allowed; expected an object");
            OsvPackage? package = null;
            if (a.Package is not null)
            {
                if (string.IsNullOrWhiteSpace(a.Package.Ecosystem))
                {
                    throw new AdvisoryFormatException(source, $"{path}.package.ecosystem", "required member is missing or empty");
                }

                if (string.IsNullOrWhiteSpace(a.Package.Name))
                {
                    throw new AdvisoryFormatException(source, $"{path}.package.name", "required member is missing or empty");
                }

                package = new OsvPackage(a.Package.Ecosystem, a.Package.Name, a.Package.Purl);
            }

            result[i] = new OsvAffected
            {
                Package = package,
                Ranges = Ranges(a.Ranges, source, path),
                Versions = Strings(a.Versions, source, $"{path}.versions"),
                Severity = Severities(a.Severity, source, $"{path}.severity"),
                EcosystemSpecific = Raw(a.EcosystemSpecific),
                DatabaseSpecific = Raw(a.DatabaseSpecific),
            };
        }

        return result;
    }

    private static OsvRange[] Ranges(List<OsvRangeDto?>? list, string source, string affectedPath)
    {
        if (list is null || list.Count == 0)
        {
            return [];
        }

        var result = new OsvRange[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var path = $"{affectedPath}.ranges[{i}]";
            var r = list[i] ?? throw new AdvisoryFormatException(source, path, "null is not allowed; expected an object");
            if (string.IsNullOrWhiteSpace(r.Type))
            {
                throw new AdvisoryFormatException(source, $"{path}.type", "required member is missing (SEMVER, ECOSYSTEM or GIT)");
            }

            var type = r.Type switch
            {
                "SEMVER" => OsvRangeType.Semver,
                "ECOSYSTEM" => OsvRangeType.Ecosystem,
                "GIT" => OsvRangeType.Git,
                _ => OsvRangeType.Unknown,
            };
            if (r.Events is null || r.Events.Count == 0)
            {
                throw new AdvisoryFormatException(source, $"{path}.events", "a range needs at least one event");
            }

            var events = new OsvEvent[r.Events.Count];
            for (var j = 0; j < events.Length; j++)
            {
                events[j] = Event(r.Events[j], source, $"{path}.events[{j}]");
            }

            result[i] = new OsvRange { Type = type, TypeName = r.Type, Repo = r.Repo, Events = events, DatabaseSpecific = Raw(r.DatabaseSpecific) };
        }

        return result;
    }

    private static OsvEvent Event(OsvEventDto? e, string source, string path)
    {
        if (e is null)
        {
            throw new AdvisoryFormatException(source, path, "null is not allowed; expected an event object");
        }

        OsvEvent? result = null;
        var count = 0;
        if (e.Introduced is not null)
        {
            result = new OsvEvent(OsvEventKind.Introduced, e.Introduced);
            count++;
        }

        if (e.Fixed is not null)
        {
            result = new OsvEvent(OsvEventKind.Fixed, e.Fixed);
            count++;
        }

        if (e.LastAffected is not null)
        {
            result = new OsvEvent(OsvEventKind.LastAffected, e.LastAffected);
            count++;
        }

        if (e.Limit is not null)
        {
            result = new OsvEvent(OsvEventKind.Limit, e.Limit);
            count++;
        }

        if (count != 1 || result is null)
        {
            throw new AdvisoryFormatException(source, path, "an event needs exactly one of 'introduced', 'fixed', 'last_affected' or 'limit'");
        }

        if (result.Version.Length == 0)
        {
            throw new AdvisoryFormatException(source, $"{path}.{result.Key}", "the version is empty");
        }

        return result;
    }

    private static JsonElement? Raw(JsonElement? element) =>
        element is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } ? element : null;

    private static string Clip(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");
}

public sealed class OsvDocumentDto
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

public sealed class OsvSeverityDto
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("score")]
    public string? Score { get; set; }
}

public sealed class OsvReferenceDto
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("url")]
    public string? Url { get; set; }
}

public sealed class OsvPackageDto
{
    [JsonPropertyName("ecosystem")]
    public string? Ecosystem { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("purl")]
    public string? Purl { get; set; }
}

public sealed class OsvAffectedDto
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

public sealed class OsvRangeDto
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

public sealed class OsvEventDto
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

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata, AllowTrailingCommas = false, ReadCommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64)]
[JsonSerializable(typeof(OsvDocumentDto))]
internal sealed partial class ReferenceOsvJsonContext : JsonSerializerContext
{
}
