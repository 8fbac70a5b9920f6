using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace McpSecurity.Ingestion.Events;

/// <summary>
/// Parses ArcSight Common Event Format lines:
/// <c>CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension</c>.
/// </summary>
/// <remarks>
/// The header may be preceded by other text (usually a syslog header), which is kept in
/// <see cref="CefEvent.Prefix"/>. Header fields unescape <c>\|</c> and <c>\\</c>. The extension is a list of
/// <c>key=value</c> pairs separated by spaces; a value runs to the space before the next <c>key=</c>, so values
/// may contain spaces, and unescapes <c>\=</c>, <c>\\</c>, <c>\n</c>, <c>\r</c> (and, leniently, <c>\|</c>).
/// Text in the extension that is not part of a pair is ignored. A missing header field is an error.
/// </remarks>
public static class CefParser
{
    /// <summary>Parses one CEF line.</summary>
    /// <param name="line">The line (a trailing line break is ignored).</param>
    /// <returns>The event.</returns>
    /// <exception cref="FormatException">The line has no <c>CEF:</c> marker, a bad version, or fewer than seven header fields.</exception>
    public static CefEvent Parse(ReadOnlySpan<char> line)
    {
        return TryParse(line, out var result, out var error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses one CEF line given as UTF-8 bytes.</summary>
    /// <param name="utf8">The line.</param>
    /// <returns>The event.</returns>
    /// <exception cref="FormatException">The line is not a CEF event.</exception>
    public static CefEvent Parse(ReadOnlySpan<byte> utf8) => Parse(Encoding.UTF8.GetString(utf8));

    /// <summary>Parses one CEF line without throwing.</summary>
    /// <param name="line">The line.</param>
    /// <param name="result">The event, or null.</param>
    /// <param name="error">Why the line is not a CEF event, or null.</param>
    /// <returns>True when the line was parsed.</returns>
    public static bool TryParse(ReadOnlySpan<char> line, [NotNullWhen(true)] out CefEvent? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        line = line.TrimEnd("\r\n");
        var marker = FindMarker(line);
        if (marker < 0)
        {
            error = "The line has no 'CEF:' marker, so it is not a CEF event.";
            return false;
        }

        var pos = marker + 4;
        var versionStart = pos;
        while (pos < line.Length && char.IsAsciiDigit(line[pos]))
        {
            pos++;
        }

        if (pos == versionStart || pos >= line.Length || line[pos] != '|'
            || !int.TryParse(line[versionStart..pos], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            error = "The CEF version after 'CEF:' must be a number followed by '|' (example: CEF:0|Vendor|Product|1.0|100|Name|5|).";
            return false;
        }

        pos++;
        var fields = new string[6];
        var sb = new StringBuilder();
        for (var f = 0; f < 6; f++)
        {
            sb.Clear();
            var closed = false;
            while (pos < line.Length)
            {
                var c = line[pos];
                if (c == '\\' && pos + 1 < line.Length && line[pos + 1] is '|' or '\\')
                {
                    sb.Append(line[pos + 1]);
                    pos += 2;
                    continue;
                }

                pos++;
                if (c == '|')
                {
                    closed = true;
                    break;
                }

                sb.Append(c);
            }

            if (!closed)
            {
                error = string.Create(CultureInfo.InvariantCulture,
                    $"The CEF header has only {f + 1} of its 7 fields (Version|Vendor|Product|Version|Class ID|Name|Severity); each must end with an unescaped '|'.");
                return false;
            }

            fields[f] = sb.ToString();
        }

        result = new CefEvent
        {
            Version = version,
            DeviceVendor = fields[0],
            DeviceProduct = fields[1],
            DeviceVersion = fields[2],
            DeviceEventClassId = fields[3],
            Name = fields[4],
            Severity = fields[5],
            SeverityLevel = CefEvent.LevelOf(fields[5].Trim()),
            Extensions = ParseExtension(line[pos..]),
            Prefix = marker > 0 ? line[..marker].TrimEnd().ToString() : null,
        };
        error = null;
        return true;
    }

    private static int FindMarker(ReadOnlySpan<char> line)
    {
        var from = 0;
        while (from < line.Length)
        {
            var i = line[from..].IndexOf("CEF:", StringComparison.Ordinal);
            if (i < 0)
            {
                return -1;
            }

            i += from;
            if (i == 0 || line[i - 1] == ' ')
            {
                return i;
            }

            from = i + 4;
        }

        return -1;
    }

    private static List<KeyValuePair<string, string>> ParseExtension(ReadOnlySpan<char> ext)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var eq = NextKeyEquals(ext, 0, out var keyStart);
        var sb = new StringBuilder();
        while (eq >= 0)
        {
            var key = ext[keyStart..eq].ToString();
            var valueStart = eq + 1;
            var next = NextKeyEquals(ext, valueStart, out var nextKeyStart);
            var valueEnd = next < 0 ? ext.Length : nextKeyStart;
            var raw = ext[valueStart..valueEnd];
            if (next >= 0)
            {
                raw = raw.TrimEnd(' ');
            }
            else
            {
                raw = raw.TrimEnd();
            }

            pairs.Add(new(key, Unescape(raw, sb)));
            eq = next;
            keyStart = nextKeyStart;
        }

        return pairs;
    }

    /// <summary>
    /// Finds the next unescaped '=' from <paramref name="from"/> that follows a key (a run of key characters
    /// preceded by a space or the start); returns its index and the key start, or -1.
    /// </summary>
    private static int NextKeyEquals(ReadOnlySpan<char> ext, int from, out int keyStart)
    {
        for (var i = from; i < ext.Length; i++)
        {
            var c = ext[i];
            if (c == '\\')
            {
                i++;
                continue;
            }

            if (c != '=')
            {
                continue;
            }

            var k = i;
            while (k > from && IsKeyChar(ext[k - 1]))
            {
                k--;
            }

            if (k < i && (k == 0 || ext[k - 1] == ' '))
            {
                keyStart = k;
                return i;
            }
        }

        keyStart = -1;
        return -1;
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '[' or ']' or '-';

    private static string Unescape(ReadOnlySpan<char> raw, StringBuilder sb)
    {
        if (raw.IndexOf('\\') < 0)
        {
            return raw.ToString();
        }

        sb.Clear();
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '\\' && i + 1 < raw.Length)
            {
                var n = raw[i + 1];
                switch (n)
                {
                    case '=' or '\\' or '|':
                        sb.Append(n);
                        i++;
                        continue;
                    case 'n':
                        sb.Append('\n');
                        i++;
                        continue;
                    case 'r':
                        sb.Append('\r');
                        i++;
                        continue;
                }
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
