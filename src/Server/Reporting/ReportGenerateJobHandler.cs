using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Core.Access;
using McpSecurity.Core.Reporting;
using McpSecurity.Reporting;
using McpSecurity.Reporting.Model;
using McpSecurity.Reporting.Templates;
using McpSecurity.Server.Jobs;

namespace McpSecurity.Server.Reporting;

/// <summary>What a <c>report.generate</c> job generates.</summary>
/// <param name="Kind">Report kind name.</param>
/// <param name="Format">Format name.</param>
/// <param name="Project">Project (vulnerability report).</param>
/// <param name="Sbom">SBOM version (vulnerability report).</param>
/// <param name="Framework">Framework (compliance report).</param>
/// <param name="From">Period start; when null, <paramref name="PeriodDays"/> before the run.</param>
/// <param name="To">Period end; when null, the run time.</param>
/// <param name="PeriodDays">Period length when <paramref name="From"/> is null.</param>
/// <param name="Template">Custom template source (HTML).</param>
/// <param name="RetentionDays">Days the artifact is kept.</param>
/// <param name="ScheduleId">Schedule that queued the job, if any.</param>
/// <param name="RequestedBy">Who asked (recorded on the artifact).</param>
public sealed record ReportJobPayload(
    string Kind,
    string Format,
    string? Project = null,
    string? Sbom = null,
    string? Framework = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    int? PeriodDays = null,
    string? Template = null,
    int RetentionDays = 30,
    string? ScheduleId = null,
    string? RequestedBy = null)
{
    /// <summary>The report request this payload stands for at <paramref name="now"/>.</summary>
    public ReportRequest ToRequest(DateTimeOffset now)
    {
        var to = To ?? now;
        return new ReportRequest(ReportKinds.Parse(Kind), ReportFormats.Parse(Format), Project, Sbom, Framework, From ?? (PeriodDays is { } d ? to.AddDays(-d) : null), to, Template);
    }
}

/// <summary>Source-generated JSON for report job payloads and results.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReportJobPayload))]
[JsonSerializable(typeof(ReportJobResult))]
internal sealed partial class ReportJobJsonContext : JsonSerializerContext;

/// <summary>Result of a <c>report.generate</c> job.</summary>
/// <param name="Report">Stored artifact id.</param>
/// <param name="FileName">File name.</param>
/// <param name="SizeBytes">Size.</param>
/// <param name="Empty">True when the period had no data.</param>
public sealed record ReportJobResult(string Report, string FileName, long SizeBytes, bool Empty);

/// <summary>Generates a report as a durable job with progress, and stores it with its retention.</summary>
public sealed class ReportGenerateJobHandler(ReportGenerator generator, TimeProvider time) : IJobHandler
{
    /// <summary>The job kind.</summary>
    public const string JobKind = "report.generate";

    /// <inheritdoc />
    public string Kind => JobKind;

    /// <summary>Serialises a payload.</summary>
    public static string Serialize(ReportJobPayload payload) => JsonSerializer.Serialize(payload, ReportJobJsonContext.Default.ReportJobPayload);

    /// <inheritdoc />
    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var payload = JsonSerializer.Deserialize(context.Job.Payload, ReportJobJsonContext.Default.ReportJobPayload)
            ?? throw new ValidationException("payload", "The job payload is empty.");
        var request = payload.ToRequest(time.GetUtcNow());
        await context.ReportAsync(5, "reading data", cancellationToken).ConfigureAwait(false);
        var document = await generator.BuildAsync(context.Store, request, null, cancellationToken).ConfigureAwait(false);
        await context.ReportAsync(60, "rendering " + request.Format.Name(), cancellationToken).ConfigureAwait(false);
        var content = ReportGenerator.Render(document, request.Format, request.Template is null ? null : ReportTemplate.Parse(request.Template));
        await context.ReportAsync(90, "storing", cancellationToken).ConfigureAwait(false);
        var actor = payload.ScheduleId is { } schedule ? Actor.System("report-schedule:" + schedule) : Actor.System("report.generate");
        var artifact = await context.Store.Reports.AddArtifactAsync(new NewReportArtifact(
            document.Kind, request.Format.Name(), document.Title, ReportGenerator.FileName(document, request.Format), request.Format.MediaType(), content,
            Serialize(payload with { Template = payload.Template is null ? null : "(custom template)" }), document.Period.From, document.Period.To, document.Empty, payload.ScheduleId,
            time.GetUtcNow().AddDays(payload.RetentionDays)), actor, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Serialize(new ReportJobResult(artifact.Id, artifact.FileName, artifact.SizeBytes, artifact.Empty), ReportJobJsonContext.Default.ReportJobResult);
    }
}
