using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace McpSecurity.Ingestion.Events;

/// <summary>
/// Parses syslog messages in the RFC 5424 and RFC 3164 layouts from UTF-8 bytes.
/// </summary>
/// <remarks>
/// Lenient, like rsyslog's default parsers, and documented case by case:
/// <list type="bullet">
/// <item>A missing PRI gives 13 (user.notice). An unparsable PRI is kept as message text.</item>
/// <item><c>&lt;PRI&gt;1 </c> selects RFC 5424. If the rest of that header or its structured data is malformed,
/// the message is parsed again as RFC 3164. Structured data may have spaces after <c>=</c>.</item>
/// <item>RFC 3164: one stray space before the timestamp is skipped; the timestamp may be BSD
/// (<c>Mmm dd hh:mm:ss</c>, month in any case, day padded with a space or not, optional year before the
/// time, optional colon after it) or RFC 3339. Without a timestamp the rest is still read.</item>
/// <item>RFC 3164 host name: a word of letters, digits, <c>.</c>, <c>_</c> and <c>-</c> followed by a space or the
/// end; otherwise there is no host name. The tag runs to the first colon (included) or space; the message
/// is the rest, leading space included.</item>
/// </list>
/// Only empty or oversized input is rejected (<see cref="SyslogFormatException"/>); nothing else throws.
/// </remarks>
public static class SyslogParser
{
    private const int DefaultPriority = 13;
    private const int MaxTagLength = 510;
    private const int MaxHostnameLength = 255;

    /// <summary>Parses one message.</summary>
    /// <param name="message">The message as UTF-8 bytes; one trailing line feed (and carriage return) is ignored.</param>
    /// <param name="options">Settings; <see cref="SyslogParserOptions.Default"/> when null.</param>
    /// <returns>The parsed message.</returns>
    /// <exception cref="SyslogFormatException">The input is empty or longer than the limit.</exception>
    public static SyslogMessage Parse(ReadOnlySpan<byte> message, SyslogParserOptions? options = null)
    {
        options ??= SyslogParserOptions.Default;
        message = TrimLineEnd(message);
        if (message.IsEmpty)
        {
            throw new SyslogFormatException("The syslog message is empty.");
        }

        if (message.Length > options.MaxMessageBytes)
        {
            throw new SyslogFormatException(string.Create(CultureInfo.InvariantCulture,
                $"The syslog message has {message.Length} bytes, more than the limit of {options.MaxMessageBytes} (SyslogParserOptions.MaxMessageBytes)."));
        }

        return ParseCore(message, options);
    }

    /// <summary>Parses one message given as text.</summary>
    /// <param name="message">The message.</param>
    /// <param name="options">Settings; <see cref="SyslogParserOptions.Default"/> when null.</param>
    /// <returns>The parsed message.</returns>
    /// <exception cref="SyslogFormatException">The input is empty or longer than the limit.</exception>
    public static SyslogMessage Parse(string message, SyslogParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Parse(Encoding.UTF8.GetBytes(message), options);
    }

    /// <summary>Parses one message, without throwing.</summary>
    /// <param name="message">The message as UTF-8 bytes.</param>
    /// <param name="result">The parsed message, or null when the input is empty or too long.</param>
    /// <param name="options">Settings; <see cref="SyslogParserOptions.Default"/> when null.</param>
    /// <returns>True when a message was parsed.</returns>
    public static bool TryParse(ReadOnlySpan<byte> message, [NotNullWhen(true)] out SyslogMessage? result, SyslogParserOptions? options = null)
    {
        options ??= SyslogParserOptions.Default;
        message = TrimLineEnd(message);
        if (message.IsEmpty || message.Length > options.MaxMessageBytes)
        {
            result = null;
            return false;
        }

        result = ParseCore(message, options);
        return true;
    }

    private static ReadOnlySpan<byte> TrimLineEnd(ReadOnlySpan<byte> s)
    {
        if (!s.IsEmpty && s[^1] == (byte)'\n')
        {
            s = s[..^1];
        }

        if (!s.IsEmpty && s[^1] == (byte)'\r')
        {
            s = s[..^1];
        }

        return s;
    }

    private static SyslogMessage ParseCore(ReadOnlySpan<byte> s, SyslogParserOptions options)
    {
        var pos = 0;
        var hasPri = TryParsePriority(s, ref pos, out var pri);
        if (!hasPri)
        {
            pri = DefaultPriority;
        }

        if (hasPri && s.Length >= pos + 2 && s[pos] == (byte)'1' && s[pos + 1] == (byte)' ')
        {
            var result = TryParse5424(s, pos + 2, pri);
            if (result is not null)
            {
                return result;
            }
        }

        return Parse3164(s, pos, pri, hasPri, options);
    }

    private static bool TryParsePriority(ReadOnlySpan<byte> s, ref int pos, out int pri)
    {
        pri = 0;
        if (s.IsEmpty || s[0] != (byte)'<')
        {
            return false;
        }

        var i = 1;
        while (i < s.Length && i <= 4 && IsDigit(s[i]))
        {
            pri = (pri * 10) + (s[i] - '0');
            i++;
        }

        if (i == 1 || i > 4 || i >= s.Length || s[i] != (byte)'>' || pri > 191)
        {
            pri = 0;
            return false;
        }

        pos = i + 1;
        return true;
    }

    private static SyslogMessage? TryParse5424(ReadOnlySpan<byte> s, int pos, int pri)
    {
        if (!TryHeaderField(s, ref pos, 64, out var tsField)
            || !TryHeaderField(s, ref pos, MaxHostnameLength, out var host)
            || !TryHeaderField(s, ref pos, 48, out var app)
            || !TryHeaderField(s, ref pos, 128, out var procId)
            || !TryHeaderField(s, ref pos, 32, out var msgId))
        {
            return null;
        }

        DateTimeOffset? timestamp = null;
        if (!IsNil(tsField))
        {
            var tsPos = 0;
            if (!TryParseRfc3339(tsField, ref tsPos, out var parsed) || tsPos != tsField.Length)
            {
                return null;
            }

            timestamp = parsed;
        }

        var structuredData = new List<SyslogStructuredDataElement>();
        if (pos >= s.Length)
        {
            return null;
        }

        if (s[pos] == (byte)'-')
        {
            pos++;
        }
        else if (!TryParseStructuredData(s, ref pos, structuredData))
        {
            return null;
        }

        var msg = ReadOnlySpan<byte>.Empty;
        if (pos < s.Length)
        {
            msg = s[pos] == (byte)' ' ? s[(pos + 1)..] : s[pos..];
        }

        if (msg.StartsWith("\uFEFF"u8))
        {
            msg = msg[3..];
        }

        var appName = NilOrString(app);
        var procIdText = NilOrString(procId);
        return new SyslogMessage
        {
            Format = SyslogFormat.Rfc5424,
            Priority = pri,
            HasPriority = true,
            Timestamp = timestamp,
            TimestampHasYear = true,
            Hostname = NilOrString(host),
            AppName = appName,
            ProcId = procIdText,
            MsgId = NilOrString(msgId),
            Tag = appName is null ? string.Empty : procIdText is null ? appName : appName + "[" + procIdText + "]",
            StructuredData = structuredData,
            Message = Encoding.UTF8.GetString(msg),
        };
    }

    private static bool TryHeaderField(ReadOnlySpan<byte> s, ref int pos, int maxLength, out ReadOnlySpan<byte> field)
    {
        var start = pos;
        while (pos < s.Length && s[pos] != (byte)' ')
        {
            if (s[pos] < 33 || s[pos] > 126)
            {
                field = default;
                return false;
            }

            pos++;
        }

        field = s[start..pos];
        if (field.IsEmpty || field.Length > maxLength || pos >= s.Length)
        {
            return false;
        }

        pos++; // the separating space
        return true;
    }

    private static bool IsNil(ReadOnlySpan<byte> field) => field.Length == 1 && field[0] == (byte)'-';

    private static string? NilOrString(ReadOnlySpan<byte> field) => IsNil(field) ? null : Encoding.ASCII.GetString(field);

    private static bool TryParseStructuredData(ReadOnlySpan<byte> s, ref int pos, List<SyslogStructuredDataElement> elements)
    {
        if (pos >= s.Length || s[pos] != (byte)'[')
        {
            return false;
        }

        var value = new StringBuilder();
        while (pos < s.Length && s[pos] == (byte)'[')
        {
            pos++;
            var id = ReadSdName(s, ref pos);
            if (id is null)
            {
                return false;
            }

            var parameters = new List<KeyValuePair<string, string>>();
            while (true)
            {
                if (pos >= s.Length)
                {
                    return false;
                }

                if (s[pos] == (byte)']')
                {
                    pos++;
                    break;
                }

                if (s[pos] != (byte)' ')
                {
                    return false;
                }

                while (pos < s.Length && s[pos] == (byte)' ')
                {
                    pos++;
                }

                if (pos < s.Length && s[pos] == (byte)']')
                {
                    continue;
                }

                var name = ReadSdName(s, ref pos);
                if (name is null || pos >= s.Length || s[pos] != (byte)'=')
                {
                    return false;
                }

                pos++;
                while (pos < s.Length && s[pos] == (byte)' ')
                {
                    pos++; // not allowed by RFC 5424, but seen in practice and accepted by rsyslog
                }

                if (pos >= s.Length || s[pos] != (byte)'"')
                {
                    return false;
                }

                pos++;
                if (!TryReadSdValue(s, ref pos, value))
                {
                    return false;
                }

                parameters.Add(new(name, value.ToString()));
            }

            elements.Add(new SyslogStructuredDataElement(id, parameters));
        }

        return true;
    }

    private static string? ReadSdName(ReadOnlySpan<byte> s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && s[pos] > 32 && s[pos] < 127 && s[pos] != (byte)'=' && s[pos] != (byte)']' && s[pos] != (byte)'"')
        {
            pos++;
        }

        var length = pos - start;
        return length is 0 or > 32 ? null : Encoding.ASCII.GetString(s[start..pos]);
    }

    private static bool TryReadSdValue(ReadOnlySpan<byte> s, ref int pos, StringBuilder value)
    {
        value.Clear();
        var runStart = pos;
        while (pos < s.Length)
        {
            var b = s[pos];
            if (b == (byte)'"')
            {
                AppendUtf8(value, s[runStart..pos]);
                pos++;
                return true;
            }

            if (b == (byte)'\\' && pos + 1 < s.Length && s[pos + 1] is (byte)'"' or (byte)'\\' or (byte)']')
            {
                // RFC 5424 section 6.3.3: only these three are escaped; other backslashes are literal.
                AppendUtf8(value, s[runStart..pos]);
                value.Append((char)s[pos + 1]);
                pos += 2;
                runStart = pos;
                continue;
            }

            pos++;
        }

        return false;
    }

    private static void AppendUtf8(StringBuilder builder, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            builder.Append(Encoding.UTF8.GetString(bytes));
        }
    }

    private static SyslogMessage Parse3164(ReadOnlySpan<byte> s, int pos, int pri, bool hasPri, SyslogParserOptions options)
    {
        DateTimeOffset? timestamp = null;
        var hasYear = false;
        var at = pos;
        if (TryParseRfc3339(s, ref at, out var rfc3339) && (at == s.Length || s[at] == (byte)' '))
        {
            timestamp = rfc3339;
            hasYear = true;
            pos = at < s.Length ? at + 1 : at;
        }
        else
        {
            at = pos;
            if (!TryParseBsdTimestamp(s, ref at, options, out var bsd, out hasYear) && at < s.Length && s[at] == (byte)' ')
            {
                at = pos + 1;
                if (!TryParseBsdTimestamp(s, ref at, options, out bsd, out hasYear))
                {
                    at = pos;
                }
            }

            if (at != pos)
            {
                timestamp = bsd;
                pos = at;
            }
        }

        string? hostname = null;
        var i = pos;
        while (i < s.Length && i - pos < MaxHostnameLength && IsHostnameChar(s[i]))
        {
            i++;
        }

        if (i > pos && (i == s.Length || s[i] == (byte)' '))
        {
            hostname = Encoding.ASCII.GetString(s[pos..i]);
            pos = i < s.Length ? i + 1 : i;
        }

        var tagStart = pos;
        while (pos < s.Length && s[pos] != (byte)':' && s[pos] != (byte)' ' && pos - tagStart < MaxTagLength)
        {
            pos++;
        }

        if (pos < s.Length && s[pos] == (byte)':')
        {
            pos++;
        }

        var tag = s[tagStart..pos];
        var programLength = 0;
        while (programLength < tag.Length && tag[programLength] is >= 32 and < 127 and not (byte)':' and not (byte)'[' and not (byte)'/')
        {
            programLength++;
        }

        string? procId = null;
        if (programLength < tag.Length && tag[programLength] == (byte)'[')
        {
            var close = tag[(programLength + 1)..].IndexOf((byte)']');
            if (close > 0)
            {
                procId = Encoding.UTF8.GetString(tag.Slice(programLength + 1, close));
            }
        }

        return new SyslogMessage
        {
            Format = SyslogFormat.Rfc3164,
            Priority = pri,
            HasPriority = hasPri,
            Timestamp = timestamp,
            TimestampHasYear = hasYear,
            Hostname = hostname,
            AppName = programLength > 0 ? Encoding.ASCII.GetString(tag[..programLength]) : null,
            ProcId = procId,
            Tag = Encoding.UTF8.GetString(tag),
            Message = Encoding.UTF8.GetString(s[pos..]),
        };
    }

    private static bool IsHostnameChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)'_' or (byte)'-';

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool TryDigits(ReadOnlySpan<byte> s, int pos, int count, out int value)
    {
        value = 0;
        if (pos + count > s.Length)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var b = s[pos + i];
            if (!IsDigit(b))
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    /// <summary>Parses <c>YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)</c>; advances only on success.</summary>
    internal static bool TryParseRfc3339(ReadOnlySpan<byte> s, ref int pos, out DateTimeOffset value)
    {
        value = default;
        var p = pos;
        if (!TryDigits(s, p, 4, out var year) || !Is(s, p + 4, '-') || !TryDigits(s, p + 5, 2, out var month) || !Is(s, p + 7, '-')
            || !TryDigits(s, p + 8, 2, out var day) || !(Is(s, p + 10, 'T') || Is(s, p + 10, 't'))
            || !TryDigits(s, p + 11, 2, out var hour) || !Is(s, p + 13, ':') || !TryDigits(s, p + 14, 2, out var minute)
            || !Is(s, p + 16, ':') || !TryDigits(s, p + 17, 2, out var second))
        {
            return false;
        }

        p += 19;
        long fractionTicks = 0;
        if (Is(s, p, '.'))
        {
            p++;
            var digits = 0;
            long scale = TimeSpan.TicksPerSecond;
            while (p < s.Length && IsDigit(s[p]) && digits < 9)
            {
                scale /= 10;
                fractionTicks += (s[p] - '0') * scale;
                digits++;
                p++;
            }

            if (digits == 0)
            {
                return false;
            }
        }

        TimeSpan offset;
        if (Is(s, p, 'Z') || Is(s, p, 'z'))
        {
            offset = TimeSpan.Zero;
            p++;
        }
        else if ((Is(s, p, '+') || Is(s, p, '-')) && TryDigits(s, p + 1, 2, out var oh) && Is(s, p + 3, ':') && TryDigits(s, p + 4, 2, out var om)
            && oh <= 14 && om < 60)
        {
            offset = new TimeSpan(oh, om, 0);
            if (s[p] == (byte)'-')
            {
                offset = -offset;
            }

            p += 6;
        }
        else
        {
            return false;
        }

        if (second == 60)
        {
            second = 59; // a leap second, which DateTime cannot hold
        }

        if (!TryMakeDate(year, month, day, hour, minute, second, fractionTicks, offset, out value))
        {
            return false;
        }

        pos = p;
        return true;
    }

    private static bool TryParseBsdTimestamp(ReadOnlySpan<byte> s, ref int pos, SyslogParserOptions options, out DateTimeOffset value, out bool hasYear)
    {
        value = default;
        hasYear = false;
        var p = pos;
        if (p + 3 > s.Length)
        {
            return false;
        }

        var month = MonthOf(s.Slice(p, 3));
        if (month == 0 || !Is(s, p + 3, ' '))
        {
            return false;
        }

        p += 4;
        if (Is(s, p, ' '))
        {
            p++;
        }

        if (p >= s.Length || !IsDigit(s[p]))
        {
            return false;
        }

        var day = s[p++] - '0';
        if (p < s.Length && IsDigit(s[p]))
        {
            day = (day * 10) + (s[p++] - '0');
        }

        if (!Is(s, p, ' '))
        {
            return false;
        }

        p++;
        var year = 0;
        if (TryDigits(s, p, 4, out var y) && Is(s, p + 4, ' '))
        {
            year = y;
            hasYear = true;
            p += 5;
        }

        if (!TryDigits(s, p, 2, out var hour) || !Is(s, p + 2, ':') || !TryDigits(s, p + 3, 2, out var minute) || !Is(s, p + 5, ':')
            || !TryDigits(s, p + 6, 2, out var second))
        {
            return false;
        }

        p += 8;
        if (Is(s, p, ':'))
        {
            p++; // Cisco and others put a colon after the time
        }

        if (p < s.Length)
        {
            if (s[p] != (byte)' ')
            {
                return false;
            }

            p++;
        }

        if (!hasYear)
        {
            var reference = options.ReferenceTime ?? DateTimeOffset.UtcNow;
            year = reference.Year;
            if (month == 2 && day == 29)
            {
                while (!DateTime.IsLeapYear(year) && year > 1)
                {
                    year--;
                }
            }

            if (TryMakeDate(year, month, day, hour, minute, second, 0, options.DefaultOffset, out var candidate) && candidate > reference.AddDays(7))
            {
                year--;
                while (month == 2 && day == 29 && !DateTime.IsLeapYear(year) && year > 1)
                {
                    year--;
                }
            }
        }

        if (!TryMakeDate(year, month, day, hour, minute, second == 60 ? 59 : second, 0, options.DefaultOffset, out value))
        {
            return false;
        }

        pos = p;
        return true;
    }

    private static bool TryMakeDate(int year, int month, int day, int hour, int minute, int second, long fractionTicks, TimeSpan offset, out DateTimeOffset value)
    {
        value = default;
        if (year is < 2 or > 9998 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
        return true;
    }

    private static int MonthOf(ReadOnlySpan<byte> m)
    {
        var a = m[0] | 0x20;
        var b = m[1] | 0x20;
        var c = m[2] | 0x20;
        return (a, b, c) switch
        {
            ('j', 'a', 'n') => 1,
            ('f', 'e', 'b') => 2,
            ('m', 'a', 'r') => 3,
            ('a', 'p', 'r') => 4,
            ('m', 'a', 'y') => 5,
            ('j', 'u', 'n') => 6,
            ('j', 'u', 'l') => 7,
            ('a', 'u', 'g') => 8,
            ('s', 'e', 'p') => 9,
            ('o', 'c', 't') => 10,
            ('n', 'o', 'v') => 11,
            ('d', 'e', 'c') => 12,
            _ => 0,
        };
    }

    private static bool Is(ReadOnlySpan<byte> s, int pos, char c) => pos < s.Length && s[pos] == (byte)c;
}
