using System.Globalization;
using Cronos;
using McpSecurity.Core;
using McpSecurity.Core.Reporting;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Scheduling;

/// <summary>
/// Validation and next-run computation for report schedules: cron expressions (5 fields, or 6 with seconds) are
/// read with Cronos in the schedule's IANA time zone, so "0 6 * * 1" in Europe/Berlin fires at 06:00 Berlin time
/// across daylight-saving changes.
/// </summary>
public static class ReportScheduleRules
{
    /// <summary>Shortest retention.</summary>
    public const int MinRetentionDays = 1;

    /// <summary>Longest retention.</summary>
    public const int MaxRetentionDays = 3660;

    /// <summary>Parses a cron expression or throws a <see cref="ValidationException"/> quoting it and Cronos' reason.</summary>
    public static CronExpression ParseCron(string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron))
        {
            throw new ValidationException("cron", "A cron expression is required, e.g. '0 6 * * 1' (Mondays at 06:00).");
        }

        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            throw new ValidationException("cron", $"Invalid cron expression '{cron}': it has {fields} fields; use 5 (minute hour day month weekday) or 6 (with seconds first).");
        }

        try
        {
            return CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new ValidationException("cron", $"Invalid cron expression '{cron}': {ex.Message}");
        }
    }

    /// <summary>Finds an IANA (or Windows) time zone or throws a <see cref="ValidationException"/>.</summary>
    public static TimeZoneInfo ParseTimeZone(string? timeZone)
    {
        if (string.IsNullOrWhiteSpace(timeZone) || timeZone.Equals("UTC", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ValidationException("timeZone", $"Unknown time zone '{timeZone}'. Use an IANA name such as Europe/Berlin or America/New_York.");
        }
    }

    /// <summary>The next occurrence strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public static DateTimeOffset? Next(string cron, string timeZone, DateTimeOffset after) =>
        ParseCron(cron).GetNextOccurrence(after, ParseTimeZone(timeZone));

    /// <summary>
    /// Validates a schedule request (name, cron, time zone, kind, format, report options, retention) and returns the
    /// spec to store with its first due time.
    /// </summary>
    public static ReportScheduleSpec Validate(string? name, string? cron, string? timeZone, string? kind, string? format, ReportScheduleOptions options, int? retentionDays, bool enabled, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        var expression = ParseCron(cron);
        var zone = ParseTimeZone(timeZone);
        var k = ReportKinds.Parse(kind);
        var f = ReportFormats.Parse(format ?? "pdf");
        var retention = retentionDays ?? 30;
        if (retention is < MinRetentionDays or > MaxRetentionDays)
        {
            throw new ValidationException("retentionDays", $"retentionDays must be between {MinRetentionDays} and {MaxRetentionDays}.");
        }

        if (options.PeriodDays is < 1 or > 1098)
        {
            throw new ValidationException("periodDays", "periodDays must be between 1 and 1098.");
        }

        if (k == ReportKind.Vulnerability && string.IsNullOrWhiteSpace(options.Project))
        {
            throw new ValidationException("project", "A vulnerability report schedule needs a project.");
        }

        if (k == ReportKind.Compliance)
        {
            Compliance.ComplianceMappings.Get(options.Framework);
        }

        if (options.Template is not null)
        {
            if (f != ReportFormat.Html)
            {
                throw new ValidationException("template", "Custom templates render HTML only; use format html.");
            }

            Templates.ReportTemplate.Parse(options.Template);
        }

        var next = enabled ? expression.GetNextOccurrence(now, zone) : null;
        return new ReportScheduleSpec(name ?? string.Empty, cron!.Trim(), zone == TimeZoneInfo.Utc ? "UTC" : zone.Id, k.Name(), f.Name(),
            ReportScheduleOptions.ToJson(options), retention, enabled, next);
    }

    /// <summary>Describes the next run for people (ISO 8601 in the schedule's zone).</summary>
    public static string Describe(DateTimeOffset? next, string timeZone) =>
        next is { } n ? TimeZoneInfo.ConvertTime(n, ParseTimeZone(timeZone)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) : "never";
}

/// <summary>Report options a schedule passes to each run.</summary>
public sealed class ReportScheduleOptions
{
    /// <summary>Project (vulnerability report).</summary>
    public string? Project { get; init; }

    /// <summary>SBOM version (vulnerability report; latest when null).</summary>
    public string? Sbom { get; init; }

    /// <summary>Framework (compliance report).</summary>
    public string? Framework { get; init; }

    /// <summary>Length of the period ending at the run time, in days.</summary>
    public int PeriodDays { get; init; } = 30;

    /// <summary>Custom template source (HTML only).</summary>
    public string? Template { get; init; }

    /// <summary>Serialises the options.</summary>
    public static string ToJson(ReportScheduleOptions options) => System.Text.Json.JsonSerializer.Serialize(options, SchedulingJsonContext.Default.ReportScheduleOptions);

    /// <summary>Reads stored options.</summary>
    public static ReportScheduleOptions FromJson(string json) =>
        System.Text.Json.JsonSerializer.Deserialize(json, SchedulingJsonContext.Default.ReportScheduleOptions) ?? new ReportScheduleOptions();
}

/// <summary>Source-generated JSON for schedule options.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReportScheduleOptions))]
internal sealed partial class SchedulingJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
