using System.Security.Cryptography;

namespace McpSecurity.Core;

/// <summary>Creates and validates the opaque identifiers used for stored entities.</summary>
public static class Ids
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    /// <summary>Maximum identifier length accepted from callers.</summary>
    public const int MaxLength = 64;

    /// <summary>A new random identifier with a readable prefix, e.g. <c>ten_3k9x…</c>.</summary>
    public static string New(string prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[prefix.Length + 1 + 26];
        prefix.AsSpan().CopyTo(chars);
        chars[prefix.Length] = '_';
        var pos = prefix.Length + 1;
        // 128 bits in base32 (5 bits per char) = 26 chars.
        var buffer = 0;
        var bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[pos++] = Alphabet[(buffer >> bits) & 31];
            }
        }

        if (bits > 0)
        {
            chars[pos++] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars[..pos]);
    }

    /// <summary>True when the value is a syntactically valid identifier (letters, digits, '_' and '-').</summary>
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws <see cref="ValidationException"/> when the value is not a valid identifier.</summary>
    public static void Validate(string? value, string field)
    {
        if (!IsValid(value))
        {
            throw new ValidationException(field, $"'{field}' must be 1-{MaxLength} characters of letters, digits, '_' or '-'.");
        }
    }
}
