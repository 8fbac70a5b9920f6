using System.Buffers;
using System.Text;

namespace McpSecurity.Vulnerabilities.Purl;

/// <summary>Percent-encoding and decoding for purl components, on spans.</summary>
internal static class PurlEncoding
{
    private const int MaxStackBytes = 256;
    private const string Hex = "0123456789ABCDEF";

    /// <summary>
    /// Decodes percent-escapes in <paramref name="value"/> as UTF-8. Returns false when an escape is
    /// malformed or the bytes are not valid UTF-8. A plus sign stays a plus sign.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> value, out string decoded)
    {
        if (value.IndexOf('%') < 0)
        {
            decoded = value.ToString();
            return true;
        }

        byte[]? rented = null;
        var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> buffer = maxBytes <= MaxStackBytes
            ? stackalloc byte[MaxStackBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = 0;
            var i = 0;
            while (i < value.Length)
            {
                var c = value[i];
                if (c == '%')
                {
                    if (i + 2 >= value.Length)
                    {
                        decoded = string.Empty;
                        return false;
                    }

                    var hi = HexValue(value[i + 1]);
                    var lo = HexValue(value[i + 2]);
                    if (hi < 0 || lo < 0)
                    {
                        decoded = string.Empty;
                        return false;
                    }

                    buffer[length++] = (byte)((hi << 4) | lo);
                    i += 3;
                    continue;
                }

                // Copy a run of unescaped characters as UTF-8.
                var end = value[i..].IndexOf('%');
                var run = end < 0 ? value[i..] : value.Slice(i, end);
                length += Encoding.UTF8.GetBytes(run, buffer[length..]);
                i += run.Length;
            }

            try
            {
                decoded = StrictUtf8.GetString(buffer[..length]);
                return true;
            }
            catch (DecoderFallbackException)
            {
                decoded = string.Empty;
                return false;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="value"/> percent-encoded: ASCII letters, digits, '.', '-', '_', '~'
    /// and ':' stay as they are, every other character is written as %XX of its UTF-8 bytes.
    /// </summary>
    public static void Append(StringBuilder builder, string value)
    {
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (IsUnreserved(c))
            {
                builder.Append(c);
                continue;
            }

            int count;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                count = Encoding.UTF8.GetBytes(value.AsSpan(i, 2), bytes);
                i++;
            }
            else
            {
                count = Encoding.UTF8.GetBytes(value.AsSpan(i, 1), bytes);
            }

            for (var b = 0; b < count; b++)
            {
                builder.Append('%').Append(Hex[bytes[b] >> 4]).Append(Hex[bytes[b] & 0xF]);
            }
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool IsUnreserved(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':';

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
