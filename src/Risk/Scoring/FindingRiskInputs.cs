using System.Globalization;
using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Core.Risk;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Risk.Scoring;

/// <summary>
/// Factors of one finding as a caller states them (what-if scoring, imports). Every field is checked by
/// <see cref="FindingRiskInputs.Validate"/>: absurd values are refused, never clamped.
/// </summary>
public sealed record FindingFactors(
    double? Cvss = null,
    string? CvssVector = null,
    string? Severity = null,
    double? EpssProbability = null,
    double? EpssPercentile = null,
    bool? Kev = null,
    bool? KevRansomware = null,
    DateOnly? KevDueDate = null,
    string? ExploitMaturity = null,
    int? AssetTier = null,
    bool? InternetFacing = null,
    string? DataClassification = null,
    int? DependencyDepth = null,
    string? Control = null,
    int? AgeDays = null);

/// <summary>Builds validated <see cref="FindingRiskInput"/> values from stated factors or from stored findings.</summary>
public static class FindingRiskInputs
{
    /// <summary>Validates stated factors; <paramref name="where"/> prefixes field names (e.g. "findings[3].").</summary>
    public static FindingRiskInput Validate(FindingFactors f, DateOnly today, string where = "")
    {
        ArgumentNullException.ThrowIfNull(f);
        var input = Empty();
        if (f.CvssVector is not null)
        {
            if (!CvssCalculator.TryParse(f.CvssVector, out var parsed, out var error))
            {
                throw new ValidationException(where + "cvssVector", error);
            }

            input.Cvss = (float)parsed.Score;
            input.Maturity = MaturityOf(parsed.Vector);
        }

        if (f.Cvss is { } cvss)
        {
            if (!(cvss is >= 0 and <= 10))
            {
                throw new ValidationException(where + "cvss", string.Create(CultureInfo.InvariantCulture, $"CVSS score {cvss} is outside 0–10."));
            }

            if (f.CvssVector is not null && Math.Abs(cvss - input.Cvss) > 0.05)
            {
                throw new ValidationException(where + "cvss", string.Create(CultureInfo.InvariantCulture, $"CVSS score {cvss} contradicts the vector, which scores {input.Cvss}; give one or make them agree."));
            }

            input.Cvss = (float)cvss;
        }

        input.SeverityRank = SeverityRank(f.Severity, where + "severity");
        input.EpssProbability = Probability(f.EpssProbability, where + "epssProbability");
        input.EpssPercentile = Probability(f.EpssPercentile, where + "epssPercentile");
        if (float.IsNaN(input.EpssProbability) && !float.IsNaN(input.EpssPercentile))
        {
            throw new ValidationException(where + "epssProbability", "An EPSS percentile was given without its probability.");
        }

        input.Kev = f.Kev ?? false;
        input.KevRansomware = f.KevRansomware ?? false;
        if (!input.Kev && (input.KevRansomware || f.KevDueDate is not null))
        {
            throw new ValidationException(where + "kev", "KEV ransomware use or a KEV due date was given for a finding that is not in KEV; set kev to true or drop them.");
        }

        input.KevDueInDays = f.KevDueDate is { } due ? due.DayNumber - today.DayNumber : int.MaxValue;
        input.Maturity = f.ExploitMaturity is null ? input.Maturity : ParseMaturity(f.ExploitMaturity, where + "exploitMaturity");
        input.AssetTier = f.AssetTier is null ? (sbyte)-1 : (sbyte)RiskNames.ValidateTier(f.AssetTier, where + "assetTier");
        input.InternetFacing = f.InternetFacing ?? false;
        input.Data = f.DataClassification is null ? DataClassification.Internal : RiskNames.ParseClassification(f.DataClassification, where + "dataClassification");
        input.DependencyDepth = f.DependencyDepth switch
        {
            null => 0,
            < 1 or > 64 => throw new ValidationException(where + "dependencyDepth", string.Create(CultureInfo.InvariantCulture, $"Dependency depth {f.DependencyDepth} is outside 1 (direct) to 64.")),
            { } d => (byte)d,
        };
        input.Control = f.Control is null ? ControlState.None : ParseControl(f.Control, where + "control");
        input.AgeDays = f.AgeDays switch
        {
            null => 0,
            < 0 or > 36_500 => throw new ValidationException(where + "ageDays", string.Create(CultureInfo.InvariantCulture, $"Age of {f.AgeDays} days is outside 0–36500.")),
            { } a => a,
        };
        return input;
    }

    /// <summary>
    /// The input for a stored finding: CVSS from its explanation's vector (re-scored with the asset's
    /// environmental requirements when it has them), EPSS and KEV from the explanation, the asset's context,
    /// dependency depth and the triage state. Bad stored values are refused with the finding's id.
    /// </summary>
    public static FindingRiskInput FromFinding(Finding finding, AssetContext? asset, int dependencyDepth, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var where = $"finding {finding.Id} ({finding.VulnerabilityId}): ";
        var input = Empty();
        input.SeverityRank = SeverityRank(finding.Severity, where + "severity", lenient: true);
        if (finding.Score is { } s)
        {
            if (!(s is >= 0 and <= 10))
            {
                throw new ValidationException(where + "score", string.Create(CultureInfo.InvariantCulture, $"CVSS score {s} is outside 0–10."));
            }

            input.Cvss = (float)s;
        }

        using (var doc = JsonDocument.Parse(finding.Explanation))
        {
            var root = doc.RootElement;
            if (root.TryGetProperty("cvssVector", out var vector) && vector.ValueKind == JsonValueKind.String
                && CvssCalculator.TryParse(WithRequirements(vector.GetString()!, asset?.SecurityRequirements), out var cvss, out _))
            {
                input.Cvss = (float)cvss.Score;
                input.Maturity = MaturityOf(cvss.Vector);
            }

            if (root.TryGetProperty("epss", out var epss) && epss.ValueKind == JsonValueKind.Object)
            {
                input.EpssProbability = Probability(epss.TryGetProperty("probability", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null, where + "epss.probability");
                input.EpssPercentile = Probability(epss.TryGetProperty("percentile", out var q) && q.ValueKind == JsonValueKind.Number ? q.GetDouble() : null, where + "epss.percentile");
            }

            if (root.TryGetProperty("kev", out var kev) && kev.ValueKind == JsonValueKind.Object)
            {
                input.Kev = true;
                input.KevRansomware = kev.TryGetProperty("knownRansomwareCampaignUse", out var r) && r.ValueKind == JsonValueKind.True;
                if (kev.TryGetProperty("dueDate", out var due) && due.ValueKind == JsonValueKind.String
                    && DateTimeOffset.TryParse(due.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dueDate))
                {
                    input.KevDueInDays = DateOnly.FromDateTime(dueDate.UtcDateTime).DayNumber - DateOnly.FromDateTime(now.UtcDateTime).DayNumber;
                }
            }
        }

        if (asset is { } a)
        {
            input.AssetTier = (sbyte)a.Tier;
            input.InternetFacing = a.InternetFacing;
            input.Data = a.Data;
        }

        input.DependencyDepth = (byte)Math.Clamp(dependencyDepth, 0, 64);
        input.Control = finding.State switch
        {
            FindingState.Suppressed => ControlState.Suppressed,
            FindingState.RiskAccepted => ControlState.RiskAccepted,
            FindingState.FalsePositive => ControlState.FalsePositive,
            FindingState.Fixed => ControlState.Fixed,
            _ => ControlState.None,
        };
        input.AgeDays = Math.Max(0, (int)(now - finding.FirstSeen).TotalDays);
        return input;
    }

    /// <summary>
    /// Adds the asset's CVSS security requirements (<c>CR:H/IR:M/AR:L</c>) to a vector that does not
    /// already state them, so the environmental score applies. v2, v3 and v4 all define CR, IR and AR.
    /// </summary>
    public static string WithRequirements(string vector, string? requirements)
    {
        ArgumentNullException.ThrowIfNull(vector);
        if (string.IsNullOrEmpty(requirements))
        {
            return vector;
        }

        var result = vector.TrimEnd('/');
        foreach (var part in requirements.Split('/'))
        {
            var key = part.AsSpan(0, part.IndexOf(':', StringComparison.Ordinal) + 1);
            if (!ContainsMetric(result, key))
            {
                var value = vector.StartsWith("CVSS:", StringComparison.Ordinal) ? part : V2Requirement(part);
                result += "/" + value;
            }
        }

        return result;
    }

    /// <summary>The exploit code maturity a vector states (v2 E:U/POC/F/H, v3 E:U/P/F/H, v4 E:U/P/A).</summary>
    public static ExploitMaturity MaturityOf(string vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        var v4 = vector.StartsWith("CVSS:4.0", StringComparison.Ordinal);
        foreach (var part in vector.Split('/'))
        {
            if (!part.StartsWith("E:", StringComparison.Ordinal))
            {
                continue;
            }

            return part[2..] switch
            {
                "U" => ExploitMaturity.Unproven,
                "P" or "POC" => ExploitMaturity.ProofOfConcept,
                "F" => ExploitMaturity.Functional,
                "H" => ExploitMaturity.High,
                "A" when v4 => ExploitMaturity.High,
                _ => ExploitMaturity.Unknown,
            };
        }

        return ExploitMaturity.Unknown;
    }

    /// <summary>Parses an exploit maturity name (unknown, unproven, poc, functional, high).</summary>
    public static ExploitMaturity ParseMaturity(string value, string field) => value.Trim().ToLowerInvariant() switch
    {
        "unknown" => ExploitMaturity.Unknown,
        "unproven" => ExploitMaturity.Unproven,
        "poc" or "proof-of-concept" => ExploitMaturity.ProofOfConcept,
        "functional" => ExploitMaturity.Functional,
        "high" or "attacked" => ExploitMaturity.High,
        _ => throw new ValidationException(field, $"Unknown exploit maturity '{value}'. Valid: unknown, unproven, poc, functional, high."),
    };

    /// <summary>Parses a control name (none, suppressed, risk-accepted, false-positive, fixed).</summary>
    public static ControlState ParseControl(string value, string field) => value.Trim().ToLowerInvariant() switch
    {
        "none" or "open" => ControlState.None,
        "suppressed" or "vex" => ControlState.Suppressed,
        "risk-accepted" => ControlState.RiskAccepted,
        "false-positive" => ControlState.FalsePositive,
        "fixed" => ControlState.Fixed,
        _ => throw new ValidationException(field, $"Unknown control '{value}'. Valid: none, suppressed, risk-accepted, false-positive, fixed."),
    };

    /// <summary>Lower-case name of a control state.</summary>
    public static string Name(this ControlState control) => control switch
    {
        ControlState.Suppressed => "suppressed",
        ControlState.RiskAccepted => "risk-accepted",
        ControlState.FalsePositive => "false-positive",
        ControlState.Fixed => "fixed",
        _ => "none",
    };

    /// <summary>Lower-case name of an exploit maturity.</summary>
    public static string Name(this ExploitMaturity maturity) => maturity switch
    {
        ExploitMaturity.Unproven => "unproven",
        ExploitMaturity.ProofOfConcept => "poc",
        ExploitMaturity.Functional => "functional",
        ExploitMaturity.High => "high",
        _ => "unknown",
    };

    private static FindingRiskInput Empty() => new()
    {
        Cvss = float.NaN,
        EpssProbability = float.NaN,
        EpssPercentile = float.NaN,
        KevDueInDays = int.MaxValue,
        AssetTier = -1,
        Data = DataClassification.Internal,
    };

    private static byte SeverityRank(string? severity, string field, bool lenient = false) => severity?.Trim().ToUpperInvariant() switch
    {
        null or "" or "UNKNOWN" or "NONE" => 0,
        "LOW" => 1,
        "MEDIUM" or "MODERATE" => 2,
        "HIGH" => 3,
        "CRITICAL" => 4,
        _ when lenient => 0,
        _ => throw new ValidationException(field, $"Unknown severity '{severity}'. Valid: critical, high, medium, low, unknown."),
    };

    private static float Probability(double? value, string field) => value switch
    {
        null => float.NaN,
        >= 0 and <= 1 => (float)value.Value,
        _ => throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"{field.AsSpan(field.LastIndexOf(' ') + 1)} = {value} is outside 0–1 (EPSS values are probabilities).")),
    };

    private static bool ContainsMetric(string vector, ReadOnlySpan<char> keyWithColon)
    {
        foreach (var range in vector.AsSpan().Split('/'))
        {
            if (vector.AsSpan()[range].StartsWith(keyWithColon, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string V2Requirement(string part) => part[..3] + (part[3..] switch { "H" => "H", "M" => "M", _ => "L" });
}

/// <summary>The asset context a finding is scored in: the most critical of the assets linked to its project.</summary>
/// <param name="Tier">Criticality tier 0–3.</param>
/// <param name="InternetFacing">Any linked asset is internet-facing.</param>
/// <param name="Data">The most sensitive data classification of the linked assets.</param>
/// <param name="SecurityRequirements">CVSS requirements of the most critical asset, e.g. <c>CR:H/IR:M/AR:L</c>.</param>
public sealed record AssetContext(int Tier, bool InternetFacing, DataClassification Data, string? SecurityRequirements);
