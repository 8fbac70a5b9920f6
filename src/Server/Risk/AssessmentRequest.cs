using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core;
using McpSecurity.Risk.Context;

namespace McpSecurity.Server.Risk;

/// <summary>Body of POST /api/v1/assessments.</summary>
/// <param name="Projects">Project ids or names to assess; all projects when empty.</param>
/// <param name="Context">Business context; optional, but validated completely when given.</param>
/// <param name="Llm">Ask the configured LLM for the analysis (template text when none is configured or it fails).</param>
public sealed record AssessmentRequestBody(IReadOnlyList<string>? Projects, BusinessContextSpec? Context, bool? Llm);

/// <summary>A validated assessment request, as stored on the assessment.</summary>
public sealed record AssessmentRequest(IReadOnlyList<string> Projects, BusinessContext? Context, bool UseLlm)
{
    /// <summary>Most projects one request may name.</summary>
    public const int MaxProjects = 1000;

    /// <summary>Validates a request body at the boundary.</summary>
    public static AssessmentRequest Validate(AssessmentRequestBody? body)
    {
        if (body is null)
        {
            return new AssessmentRequest([], null, false);
        }

        var projects = new List<string>();
        foreach (var p in body.Projects ?? [])
        {
            projects.Add(Names.Validate(p, "projects"));
        }

        if (projects.Count > MaxProjects)
        {
            throw new ValidationException("projects", $"At most {MaxProjects} projects per assessment.");
        }

        return new AssessmentRequest(projects, body.Context is null ? null : BusinessContext.Validate(body.Context), body.Llm ?? false);
    }

    /// <summary>The request as stored.</summary>
    public string ToJson() => JsonSerializer.Serialize(new StoredRequest(Projects, Context is null ? null : new BusinessContextSpec(
        Context.ApplicationTier, Context.DataClassification.ToString().ToLowerInvariant(), Context.InternetFacing, Context.Environment, Context.Compliance, Context.BusinessService), UseLlm),
        AssessmentRequestJsonContext.Default.StoredRequest);

    /// <summary>Reads a stored request (validated again: stored data is input too).</summary>
    public static AssessmentRequest Parse(string json)
    {
        var stored = JsonSerializer.Deserialize(json, AssessmentRequestJsonContext.Default.StoredRequest)
            ?? throw new ValidationException("request", "The stored assessment request is empty.");
        return Validate(new AssessmentRequestBody(stored.Projects, stored.Context, stored.Llm));
    }

    /// <summary>The stored form.</summary>
    public sealed record StoredRequest(IReadOnlyList<string> Projects, BusinessContextSpec? Context, bool Llm);
}

/// <summary>Source-generated JSON for stored assessment requests.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AssessmentRequest.StoredRequest))]
internal sealed partial class AssessmentRequestJsonContext : JsonSerializerContext;
