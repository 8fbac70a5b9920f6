using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using McpSecurity.Ingestion.Events;
using McpSecurity.Testing;

namespace McpSecurity.Ingestion.Tests.Events;

/// <summary>
/// Runs rsyslog's parser test cases: each input is parsed, rendered through the case file's rsyslog
/// template, and compared with rsyslog's expected output line as a whole. Cases listed in
/// the Exceptions table below are expected to differ, each for the reason given there.
/// </summary>
public sealed class RsyslogConformanceTests
{
    private static readonly SyslogParserOptions Options = new() { ReferenceTime = new DateTimeOffset(2010, 12, 31, 0, 0, 0, TimeSpan.Zero) };

    [Fact]
    public void ParserTests_MatchRsyslogOutputExceptDocumentedCases()
    {
        var exceptions = LoadExceptions();
        var passed = 0;
        var total = 0;
        var unexpected = new List<string>();
        var fixedExceptions = new List<string>();
        foreach (var file in Directory.GetFiles(TestData.Path("events", "syslog", "rsyslog-parsertests"), "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var template = doc.RootElement.GetProperty("template").GetString()!;
            var escape8Bit = Path.GetFileName(file).Contains("8bit_escape", StringComparison.Ordinal);
            foreach (var testCase in doc.RootElement.GetProperty("cases").EnumerateArray())
            {
                var input = testCase.GetProperty("input").GetString()!;
                var expected = testCase.GetProperty("expected_line").GetString()!;
                total++;
                var message = SyslogParser.Parse(input, Options);
                var actual = Render(template, message, escape8Bit);
                var key = Path.GetFileName(file) + " | " + input;
                if (actual == expected)
                {
                    passed++;
                    if (exceptions.Contains(key))
                    {
                        fixedExceptions.Add(key);
                    }
                }
                else if (!exceptions.Contains(key))
                {
                    unexpected.Add($"{key}\n   expected: {expected}\n   actual:   {actual}");
                }
            }
        }

        TestContext.Current.SendDiagnosticMessage($"rsyslog parser tests: {passed}/{total} pass ({100.0 * passed / total:F1}%), {exceptions.Count} documented exceptions");
        Console.WriteLine($"rsyslog parser tests: {passed}/{total} pass ({100.0 * passed / total:F1}%), {exceptions.Count} documented exceptions");
        Assert.True(total > 0);
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
        Assert.True(fixedExceptions.Count == 0, "now passing, remove from the exceptions file:\n" + string.Join("\n", fixedExceptions));
    }

    /// <summary>
    /// Cases where this parser deliberately differs from rsyslog, keyed by "file | input", with the reason.
    /// </summary>
    private static readonly Dictionary<string, string> Exceptions = new(StringComparer.Ordinal)
    {
    };

    private static HashSet<string> LoadExceptions() => [.. Exceptions.Keys];

    /// <summary>Renders a message through the subset of rsyslog's template language the test files use.</summary>
    private static string Render(string template, SyslogMessage message, bool escape8Bit)
    {
        if (template.EndsWith("\\n", StringComparison.Ordinal))
        {
            template = template[..^2];
        }

        var sb = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var start = template.IndexOf('%', i);
            if (start < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }

            sb.Append(template, i, start - i);
            var end = template.IndexOf('%', start + 1);
            sb.Append(Property(template[(start + 1)..end], message, escape8Bit));
            i = end + 1;
        }

        return sb.ToString();
    }

    private static string Property(string spec, SyslogMessage m, bool escape8Bit)
    {
        var csv = spec.EndsWith(",csv", StringComparison.Ordinal) || spec.EndsWith(":csv", StringComparison.Ordinal);
        var name = spec.Split(':')[0];
        var value = name switch
        {
            "PRI" => m.Priority.ToString(CultureInfo.InvariantCulture),
            "syslogfacility-text" => m.FacilityName,
            "syslogseverity-text" => m.SeverityName,
            "syslogseverity" => m.Severity.ToString(CultureInfo.InvariantCulture),
            "timestamp" when spec.Contains("date-rfc3164-buggyday", StringComparison.Ordinal) => m.Timestamp?.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "(none)",
            "timestamp" => Rfc3164(m.Timestamp),
            "timereported" => m.Timestamp?.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) ?? "(none)",
            "hostname" => m.Hostname ?? "$RS_HOSTNAME",
            "programname" => m.AppName ?? string.Empty,
            "syslogtag" when spec.Contains("[0-9]+", StringComparison.Ordinal) => Regex.Match(m.Tag, "[0-9]+", RegexOptions.CultureInvariant) is { Success: true } match ? match.Value : string.Empty,
            "syslogtag" => m.Tag,
            "msg" => escape8Bit ? Escape8Bit(m.Message) : m.Message,
            _ => throw new InvalidOperationException("unsupported template property " + spec),
        };

        return csv ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string Rfc3164(DateTimeOffset? ts) => ts is { } t
        ? t.ToString("MMM", CultureInfo.InvariantCulture) + " " + t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) + " " + t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)
        : "(none)";

    private static string Escape8Bit(string text)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b >= 0x80)
            {
                sb.Append('#').Append(Convert.ToString(b, 8));
            }
            else
            {
                sb.Append((char)b);
            }
        }

        return sb.ToString();
    }
}
