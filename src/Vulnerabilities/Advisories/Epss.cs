using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>The EPSS score of one CVE.</summary>
/// <param name="CveId">The CVE id.</param>
/// <param name="Probability">The probability of exploitation activity in the next 30 days, 0 to 1.</param>
/// <param name="Percentile">The share of CVEs with an equal or lower probability, 0 to 1.</param>
public readonly record struct EpssScore(string CveId, double Probability, double Percentile);

/// <summary>A daily EPSS file, indexed by CVE id (case-insensitive).</summary>
public sealed class EpssScores
{
    private readonly FrozenDictionary<string, EpssScore> _byCve;

    /// <summary>Creates the set; a CVE listed twice keeps its first score.</summary>
    /// <param name="modelVersion">The model version from the header, such as <c>v2023.03.01</c>.</param>
    /// <param name="scoreDate">The score date from the header.</param>
    /// <param name="scores">The scores.</param>
    public EpssScores(string? modelVersion, DateTimeOffset? scoreDate, IEnumerable<EpssScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ModelVersion = modelVersion;
        ScoreDate = scoreDate;
        var map = new Dictionary<string, EpssScore>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in scores)
        {
            map.TryAdd(s.CveId, s);
        }

        _byCve = map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The EPSS model version; null when the file has no header line.</summary>
    public string? ModelVersion { get; }

    /// <summary>The date of the scores; null when the file has no header line.</summary>
    public DateTimeOffset? ScoreDate { get; }

    /// <summary>How many CVEs have a score.</summary>
    public int Count => _byCve.Count;

    /// <summary>Finds the score of a CVE.</summary>
    /// <param name="cveId">The CVE id.</param>
    /// <param name="score">The score when found.</param>
    /// <returns>True when the CVE has a score.</returns>
    public bool TryFind(string cveId, out EpssScore score) => _byCve.TryGetValue(cveId, out score);
}

/// <summary>
/// Reads the EPSS CSV published by FIRST: an optional first line
/// <c>#model_version:v2023.03.01,score_date:2023-03-14T00:00:00+0000</c>, a header
/// <c>cve,epss,percentile</c>, then one row per CVE.
/// </summary>
public static class EpssImporter
{
    /// <summary>Reads an EPSS CSV file (plain text; decompress <c>.gz</c> first or use <see cref="Read(TextReader, string)"/>).</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The scores.</returns>
    /// <exception cref="AdvisoryFormatException">The file is malformed; the message names the line.</exception>
    public static EpssScores ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Read(reader, path);
    }

    /// <summary>Reads EPSS CSV text.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="source">The file name for messages.</param>
    /// <returns>The scores.</returns>
    /// <exception cref="AdvisoryFormatException">The text is malformed; the message names the line.</exception>
    public static EpssScores Read(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        string? model = null;
        DateTimeOffset? date = null;
        var scores = new List<EpssScore>();
        int cveCol = -1, epssCol = -1, pctCol = -1;
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '#')
            {
                ParseHeaderComment(line, source, lineNo, ref model, ref date);
                continue;
            }

            var fields = line.Split(',');
            if (cveCol < 0)
            {
                cveCol = Array.FindIndex(fields, f => f.Trim().Equals("cve", StringComparison.OrdinalIgnoreCase));
                epssCol = Array.FindIndex(fields, f => f.Trim().Equals("epss", StringComparison.OrdinalIgnoreCase));
                pctCol = Array.FindIndex(fields, f => f.Trim().Equals("percentile", StringComparison.OrdinalIgnoreCase));
                if (cveCol < 0 || epssCol < 0)
                {
                    throw new AdvisoryFormatException(source, $"line {lineNo}", "expected a header row with 'cve' and 'epss' columns");
                }

                continue;
            }

            if (fields.Length <= Math.Max(cveCol, Math.Max(epssCol, pctCol)))
            {
                throw new AdvisoryFormatException(source, $"line {lineNo}", $"expected {Math.Max(cveCol, Math.Max(epssCol, pctCol)) + 1} columns, found {fields.Length}");
            }

            var cve = fields[cveCol].Trim();
            if (!cve.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase))
            {
                throw new AdvisoryFormatException(source, $"line {lineNo}", $"'{cve}' is not a CVE id");
            }

            var epss = Number(fields[epssCol], source, lineNo, "epss");
            var pct = pctCol >= 0 ? Number(fields[pctCol], source, lineNo, "percentile") : double.NaN;
            scores.Add(new EpssScore(cve, epss, pct));
        }

        return new EpssScores(model, date, scores);
    }

    private static void ParseHeaderComment(string line, string source, int lineNo, ref string? model, ref DateTimeOffset? date)
    {
        foreach (var part in line[1..].Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = part[..colon];
            var value = part[(colon + 1)..];
            if (key.Equals("model_version", StringComparison.OrdinalIgnoreCase))
            {
                model = value;
            }
            else if (key.Equals("score_date", StringComparison.OrdinalIgnoreCase))
            {
                // EPSS writes the offset without a colon (+0000).
                if (value.Length > 5 && value[^5] is '+' or '-' && value[^4..].All(char.IsAsciiDigit))
                {
                    value = string.Concat(value.AsSpan(0, value.Length - 2), ":", value.AsSpan(value.Length - 2));
                }

                if (!Timestamps.TryParse(value, out date))
                {
                    throw new AdvisoryFormatException(source, $"line {lineNo}", $"score_date '{value}' is not a timestamp");
                }
            }
        }
    }

    private static double Number(string text, string source, int lineNo, string column)
    {
        if (double.TryParse(text.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1)
        {
            return value;
        }

        throw new AdvisoryFormatException(source, $"line {lineNo}", $"{column} '{text}' is not a number between 0 and 1");
    }
}
