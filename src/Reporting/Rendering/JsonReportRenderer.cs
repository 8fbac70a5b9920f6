using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Rendering;

/// <summary>Renders the whole report document as JSON (camelCase, blocks tagged with <c>type</c>).</summary>
public static class JsonReportRenderer
{
    /// <summary>Writes the report as UTF-8 JSON.</summary>
    public static void Render(ReportDocument report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        JsonSerializer.Serialize(output, report, ReportJsonContext.Default.ReportDocument);
    }

    /// <summary>The report as UTF-8 JSON bytes.</summary>
    public static byte[] Render(ReportDocument report) => JsonSerializer.SerializeToUtf8Bytes(report, ReportJsonContext.Default.ReportDocument);
}

/// <summary>Source-generated JSON for report documents.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReportDocument))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
