using System.Globalization;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// RFC 3339 timestamps as advisory feeds write them: 0 to 9 fractional digits (digits past the
/// seventh are dropped), <c>Z</c> or an offset, or no zone at all (NVD), which is taken as UTC.
/// Year 0001 is the Go database's placeholder and means "unknown".
/// </summary>
internal static class Timestamps
{
    private static readonly string[] Formats = BuildFormats();

    /// <summary>Parses a timestamp; <paramref name="value"/> is null for year 0001.</summary>
    public static bool TryParse(string text, out DateTimeOffset? value)
    {
        value = null;
        var span = text.AsSpan().Trim();
        if (span.Length > 64)
        {
            return false;
        }

        // Drop fractional digits past the seventh: .NET keeps 100 ns ticks.
        Span<char> buffer = stackalloc char[span.Length];
        var length = 0;
        var digits = -1;
        foreach (var c in span)
        {
            if (c == '.' && digits < 0)
            {
                digits = 0;
            }
            else if (digits >= 0 && char.IsAsciiDigit(c))
            {
                if (++digits > 7)
                {
                    continue;
                }
            }
            else if (digits >= 0)
            {
                digits = int.MinValue;
            }

            buffer[length++] = c;
        }

        if (!DateTimeOffset.TryParseExact(buffer[..length], Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        value = parsed.Year <= 1 ? null : parsed;
        return true;
    }

    /// <summary>Parses a plain date (<c>YYYY-MM-DD</c>).</summary>
    public static bool TryParseDate(string? text, out DateOnly? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (DateOnly.TryParseExact(text.AsSpan().Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            value = date.Year <= 1 ? null : date;
            return true;
        }

        return false;
    }

    private static string[] BuildFormats()
    {
        var list = new List<string>();
        foreach (var zone in new[] { "K", string.Empty })
        {
            list.Add("yyyy-MM-dd'T'HH:mm:ss" + zone);
            for (var n = 1; n <= 7; n++)
            {
                list.Add("yyyy-MM-dd'T'HH:mm:ss." + new string('f', n) + zone);
            }
        }

        return [.. list];
    }
}
