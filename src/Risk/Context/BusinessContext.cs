using System.Globalization;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Context;

/// <summary>Business context as a caller writes it (assessment request or <c>--context</c> file).</summary>
/// <param name="ApplicationTier">Criticality tier 0–3 of the assessed application (used where no asset is linked).</param>
/// <param name="DataClassification">public, internal, confidential or restricted.</param>
/// <param name="InternetFacing">Whether the application is reachable from the internet.</param>
/// <param name="Environment">production (default), staging, development or test.</param>
/// <param name="Compliance">Frameworks in scope: SOC2, ISO27001, PCI-DSS, HIPAA.</param>
/// <param name="BusinessService">Name of the business service the application belongs to.</param>
public sealed record BusinessContextSpec(
    int? ApplicationTier = null,
    string? DataClassification = null,
    bool? InternetFacing = null,
    string? Environment = null,
    IReadOnlyList<string>? Compliance = null,
    string? BusinessService = null);

/// <summary>Validated business context, and the weights it derives.</summary>
public sealed record BusinessContext(
    int ApplicationTier,
    DataClassification DataClassification,
    bool InternetFacing,
    string Environment,
    IReadOnlyList<string> Compliance,
    string? BusinessService)
{
    /// <summary>Frameworks the control mapping knows.</summary>
    public static readonly IReadOnlyList<string> KnownFrameworks = ["SOC2", "ISO27001", "PCI-DSS", "HIPAA"];

    /// <summary>
    /// Validates a context at the boundary: tier and data classification are required; unknown values and
    /// contradictions (a regulated framework over public data, a tier-0 test system) are refused naming the field.
    /// </summary>
    public static BusinessContext Validate(BusinessContextSpec? spec, string where = "context.")
    {
        if (spec is null)
        {
            throw new ValidationException(where.TrimEnd('.'), "The business context is missing; give at least applicationTier (0–3) and dataClassification.");
        }

        if (spec.ApplicationTier is null)
        {
            throw new ValidationException(where + "applicationTier", "The business context has no applicationTier; give the application's criticality tier, 0 (business critical) to 3 (low).");
        }

        if (spec.DataClassification is null)
        {
            throw new ValidationException(where + "dataClassification", "The business context has no dataClassification; give public, internal, confidential or restricted.");
        }

        var tier = RiskNames.ValidateTier(spec.ApplicationTier, where + "applicationTier");
        var data = RiskNames.ParseClassification(spec.DataClassification, where + "dataClassification");
        var env = RiskNames.ValidateEnvironment(spec.Environment, where + "environment");
        var frameworks = new List<string>();
        foreach (var c in spec.Compliance ?? [])
        {
            var name = Canonical(c) ?? throw new ValidationException(where + "compliance",
                $"Unknown compliance framework '{c}'. Known: {string.Join(", ", KnownFrameworks)}.");
            if (!frameworks.Contains(name))
            {
                frameworks.Add(name);
            }
        }

        if (data == Core.Risk.DataClassification.Public && (frameworks.Contains("PCI-DSS") || frameworks.Contains("HIPAA")))
        {
            throw new ValidationException(where + "dataClassification",
                "Contradictory context: PCI-DSS and HIPAA scope means cardholder or health data, which cannot be classified 'public'; use confidential or restricted.");
        }

        if (tier == 0 && env is "development" or "test")
        {
            throw new ValidationException(where + "environment",
                $"Contradictory context: tier 0 (business critical) with environment '{env}'; a business-critical tier applies to production (or staging) systems.");
        }

        var service = string.IsNullOrWhiteSpace(spec.BusinessService) ? null : Names.Validate(spec.BusinessService, where + "businessService");
        return new BusinessContext(tier, data, spec.InternetFacing ?? false, env, frameworks, service);
    }

    /// <summary>Reads and validates a context JSON document (the <c>--context</c> file).</summary>
    public static BusinessContext Parse(ReadOnlySpan<byte> json, string source)
    {
        BusinessContextSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(json, Assessment.RiskJsonContext.Default.BusinessContextSpec);
        }
        catch (JsonException ex)
        {
            throw new ValidationException(source, string.Create(CultureInfo.InvariantCulture,
                $"{source} is not a valid context document at {ex.Path ?? "$"} (line {(ex.LineNumber ?? 0) + 1}): {ex.Message}"));
        }

        return Validate(spec, "context.");
    }

    /// <summary>
    /// Weights adjusted for this context (docs/risk-model.md, "Business context"), with one line per adjustment.
    /// </summary>
    public (RiskWeights Weights, IReadOnlyList<string> Adjustments) Adjust(RiskWeights baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        var notes = new List<string>();
        var w = baseline;
        if (Compliance.Count > 0)
        {
            w = w with { KevOverdue = w.KevOverdue * 1.5f };
            notes.Add($"compliance scope ({string.Join(", ", Compliance)}): overdue KEV findings weigh 1.5× (audit finding)");
        }

        if (Compliance.Contains("PCI-DSS") || Compliance.Contains("HIPAA"))
        {
            w = w with { Data = [w.Data[0], w.Data[1], w.Data[2] * 1.05f, w.Data[3] * 1.1f] };
            notes.Add("regulated data (PCI-DSS/HIPAA): confidential ×1.05 and restricted ×1.1 on top of the data weights");
            var sla = w.SlaDays.ToArray();
            sla[(int)RiskLevel.High] = (short)Math.Min(sla[(int)RiskLevel.High], (short)30);
            w = w with { SlaDays = sla };
        }

        if (Environment is "development" or "test")
        {
            w = w with { Tier = [w.Tier[0] * 0.85f, w.Tier[1] * 0.85f, w.Tier[2] * 0.85f, w.Tier[3] * 0.85f, w.Tier[4] * 0.85f] };
            notes.Add($"environment {Environment}: asset weights ×0.85");
        }

        w.Validate();
        return (w, notes);
    }

    /// <summary>The asset context used for findings that no inventory asset claims.</summary>
    public AssetContext AsAssetContext() => new(ApplicationTier, InternetFacing, DataClassification, null);

    private static string? Canonical(string? value)
    {
        var v = value?.Trim().ToUpperInvariant().Replace(" ", string.Empty, StringComparison.Ordinal).Replace("_", "-", StringComparison.Ordinal);
        return v switch
        {
            "SOC2" or "SOC-2" or "SOC2-TYPE2" => "SOC2",
            "ISO27001" or "ISO-27001" or "ISO/IEC27001" => "ISO27001",
            "PCI-DSS" or "PCIDSS" or "PCI" => "PCI-DSS",
            "HIPAA" => "HIPAA",
            _ => null,
        };
    }
}
