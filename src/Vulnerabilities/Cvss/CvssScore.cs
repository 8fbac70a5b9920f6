using System.Buffers;
using System.Text;
using System.Text.Json;

namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>
/// The scores of one CVSS vector. For v2 and v3, <see cref="Score"/> is the most specific score the
/// vector defines: environmental when it has environmental metrics, else temporal when it has temporal
/// metrics, else base. For v4 there is a single score, reported as both base and <see cref="Score"/>.
/// </summary>
/// <param name="Vector">The vector as given.</param>
/// <param name="Version">"2.0", "3.0", "3.1" or "4.0".</param>
/// <param name="BaseScore">The base score.</param>
/// <param name="TemporalScore">The temporal score; for v3 always computed (undefined metrics count as "Not Defined"); null for v4 and for v2 vectors without temporal metrics.</param>
/// <param name="EnvironmentalScore">The environmental score; for v3 always computed; null for v4 and for v2 vectors without environmental metrics.</param>
/// <param name="Score">The most specific score (see the type remarks).</param>
/// <param name="Severity">v2: Low, Medium or High (NVD ranges); v3 and v4: None, Low, Medium, High or Critical.</param>
public sealed record CvssScore(string Vector, string Version, decimal BaseScore, decimal? TemporalScore, decimal? EnvironmentalScore, decimal Score, string Severity)
{
    /// <summary>
    /// Serialises the score as one JSON object with <c>vector</c>, <c>version</c>, <c>baseScore</c>,
    /// <c>temporalScore</c>, <c>environmentalScore</c> (null where absent), <c>score</c> and <c>severity</c>.
    /// </summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("vector", Vector);
            writer.WriteString("version", Version);
            writer.WriteNumber("baseScore", BaseScore);
            // A v3 calculator always computes all three scores; the JSON shows only those the vector has metrics for.
            WriteNullable(writer, "temporalScore", HasMetric("E", "RL", "RC") ? TemporalScore : null);
            WriteNullable(writer, "environmentalScore", HasMetric("CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA", "TD", "CDP") ? EnvironmentalScore : null);
            writer.WriteNumber("score", Score);
            writer.WriteString("severity", Severity);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes <c>{"vector": ..., "error": ...}</c> for a vector that could not be scored.</summary>
    /// <param name="vector">The input vector (may be null).</param>
    /// <param name="error">Why it was rejected.</param>
    /// <returns>The JSON text.</returns>
    public static string ErrorJson(string? vector, string error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("vector", vector);
            writer.WriteString("error", error);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, decimal? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private bool HasMetric(params string[] names)
    {
        foreach (var part in Vector.Split('/'))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = part.AsSpan(0, colon);
            foreach (var n in names)
            {
                if (name.SequenceEqual(n))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
