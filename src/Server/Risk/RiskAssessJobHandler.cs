using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Risk;
using McpSecurity.Risk.Assessment;
using McpSecurity.Server.Jobs;

namespace McpSecurity.Server.Risk;

/// <summary>Computes a requested assessment and stores its report on the assessment.</summary>
public sealed class RiskAssessJobHandler(RiskService risk, RiskNarrationService narration) : IJobHandler
{
    /// <inheritdoc />
    public string Kind => RiskService.AssessJobKind;

    /// <inheritdoc />
    public async Task<string?> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(context.Job.Payload);
        var id = payload.RootElement.GetProperty("assessment").GetString() ?? throw new ValidationException("assessment", "The job payload names no assessment.");
        var tenant = context.Store;
        var assessment = await tenant.Risk.GetAssessmentAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"Assessment '{id}' was not found in this tenant.");
        if (assessment.State is AssessmentState.Completed or AssessmentState.Failed)
        {
            return $$"""{"assessment":"{{id}}","state":"{{assessment.State.ToString().ToLowerInvariant()}}"}""";
        }

        var request = AssessmentRequest.Parse(assessment.Request);
        if (assessment.State == AssessmentState.Queued)
        {
            await tenant.Risk.SetAssessmentStateAsync(id, AssessmentState.Running, null, null, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await context.ReportAsync(10, "loading findings and assets", cancellationToken).ConfigureAwait(false);
            var input = await risk.LoadAsync(tenant, request.Projects, request.Context, cancellationToken).ConfigureAwait(false);
            await context.ReportAsync(50, $"scoring {input.Findings.Count} findings", cancellationToken).ConfigureAwait(false);
            var report = RiskAssessor.Assess(input);
            if (request.UseLlm)
            {
                await context.ReportAsync(70, "writing the analysis", cancellationToken).ConfigureAwait(false);
                report = await narration.NarrateAsync(report, input, tenant, cancellationToken).ConfigureAwait(false);
            }

            var json = JsonSerializer.Serialize(report, RiskJsonContext.Default.RiskReport);
            await tenant.Risk.SetAssessmentStateAsync(id, AssessmentState.Completed, json, null, cancellationToken).ConfigureAwait(false);
            return $$"""{"assessment":"{{id}}","findings":{{input.Findings.Count}},"score":{{report.Tenant.Score.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""";
        }
        catch (Exception ex) when (ex is ValidationException or NotFoundException)
        {
            await tenant.Risk.SetAssessmentStateAsync(id, AssessmentState.Failed, null, ex.Message, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
