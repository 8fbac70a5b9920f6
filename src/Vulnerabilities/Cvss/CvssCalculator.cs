using System.Diagnostics.CodeAnalysis;

namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>
/// Parses and scores CVSS vectors. The version is chosen by prefix: none for v2 (an optional
/// <c>CVSS:2.0/</c> is accepted), <c>CVSS:3.0/</c>, <c>CVSS:3.1/</c> or <c>CVSS:4.0/</c>.
/// </summary>
public static class CvssCalculator
{
    private const int MaxLength = 1024;

    /// <summary>Parses and scores a vector.</summary>
    /// <param name="vector">The vector string.</param>
    /// <returns>The scores.</returns>
    /// <exception cref="CvssFormatException">The vector is malformed; the message names the metric and value.</exception>
    public static CvssScore Parse(string vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return TryParse(vector, out var score, out var error) ? score : throw new CvssFormatException(error);
    }

    /// <summary>Parses and scores a vector without throwing.</summary>
    /// <param name="vector">The vector string; null gives an error.</param>
    /// <param name="score">The scores, or null on failure.</param>
    /// <param name="error">Why the vector was rejected, or null on success.</param>
    /// <returns>True when the vector is valid.</returns>
    public static bool TryParse([NotNullWhen(true)] string? vector, [NotNullWhen(true)] out CvssScore? score, [NotNullWhen(false)] out string? error)
    {
        score = null;
        if (string.IsNullOrWhiteSpace(vector))
        {
            error = "CVSS vector: input is empty";
            return false;
        }

        if (vector.Length > MaxLength)
        {
            error = $"CVSS vector: longer than {MaxLength} characters";
            return false;
        }

        var text = vector.AsSpan().Trim();
        string version;
        if (text.StartsWith("CVSS:", StringComparison.Ordinal))
        {
            var slash = text.IndexOf('/');
            var prefix = slash < 0 ? text : text[..slash];
            version = prefix[5..] switch
            {
                "2.0" => "2.0",
                "3.0" => "3.0",
                "3.1" => "3.1",
                "4.0" => "4.0",
                _ => string.Empty,
            };
            if (version.Length == 0)
            {
                error = $"CVSS vector: unsupported version prefix '{prefix}' (expected CVSS:3.0, CVSS:3.1 or CVSS:4.0; v2 vectors have no prefix)";
                return false;
            }

            text = slash < 0 ? [] : text[(slash + 1)..];
        }
        else
        {
            version = "2.0";
            if (text.StartsWith('(') && text.EndsWith(')'))
            {
                text = text[1..^1];
            }
        }

        var label = $"CVSS:{version} vector";
        if (text.IsEmpty)
        {
            error = $"{label}: no metrics";
            return false;
        }

        var table = version switch { "2.0" => CvssMetrics.V2, "4.0" => CvssMetrics.V4, _ => CvssMetrics.V3 };
        if (!CvssMetrics.TryParse(label, text, table, out var metrics, out error))
        {
            return false;
        }

        var original = vector.Trim();
        switch (version)
        {
            case "2.0":
                {
                    var (b, t, e) = CvssV2.Score(metrics);
                    var most = e ?? t ?? b;
                    score = new CvssScore(original, version, b, t, e, most, SeverityV2(most));
                    break;
                }

            case "3.0":
            case "3.1":
                {
                    var (b, t, e) = CvssV3.Score(metrics, version == "3.1");
                    var hasEnvironmental = HasAny(metrics, "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA");
                    var hasTemporal = HasAny(metrics, "E", "RL", "RC");
                    var most = hasEnvironmental ? e : hasTemporal ? t : b;
                    score = new CvssScore(original, version, b, t, e, most, SeverityV3(most));
                    break;
                }

            default:
                {
                    if (!CvssV4.TryScore(metrics, out var s, out var reason))
                    {
                        error = $"{label}: {reason}";
                        return false;
                    }

                    score = new CvssScore(original, version, s, null, null, s, SeverityV3(s));
                    break;
                }
        }

        error = null;
        return true;
    }

    private static bool HasAny(Dictionary<string, string> metrics, params ReadOnlySpan<string> keys)
    {
        foreach (var key in keys)
        {
            if (metrics.TryGetValue(key, out var v) && v != "X")
            {
                return true;
            }
        }

        return false;
    }

    private static string SeverityV2(decimal score) => score switch
    {
        < 4.0m => "Low",
        < 7.0m => "Medium",
        _ => "High",
    };

    private static string SeverityV3(decimal score) => score switch
    {
        0m => "None",
        < 4.0m => "Low",
        < 7.0m => "Medium",
        < 9.0m => "High",
        _ => "Critical",
    };
}
