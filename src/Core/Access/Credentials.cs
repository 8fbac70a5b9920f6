using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace McpSecurity.Core.Access;

/// <summary>API key generation and hashing, and PBKDF2 password hashing.</summary>
public static class Credentials
{
    /// <summary>Every API key starts with this, so leaked keys are easy to find by secret scanners.</summary>
    public const string ApiKeyPrefix = "mcpsec_";

    /// <summary>PBKDF2-HMAC-SHA256 iterations for new password hashes (OWASP 2023 guidance).</summary>
    public const int DefaultPasswordIterations = 600_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>Generates a new API key secret: the prefix plus 256 random bits in base64url.</summary>
    public static string NewApiKey()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return ApiKeyPrefix + Base64Url(bytes);
    }

    /// <summary>
    /// SHA-256 of the key, hex encoded. A key carries 256 random bits, so a fast hash is safe here
    /// and lets authentication find the key by index.
    /// </summary>
    public static string HashApiKey(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The part of a key that is safe to display (prefix plus six characters).</summary>
    public static string DisplayPrefix(string key) => key.Length <= ApiKeyPrefix.Length + 6 ? key : key[..(ApiKeyPrefix.Length + 6)];

    /// <summary>Hashes a password as <c>pbkdf2-sha256$iterations$salt$hash</c> (base64).</summary>
    public static string HashPassword(string password, int iterations = DefaultPasswordIterations)
    {
        ValidatePassword(password);
        Span<byte> salt = stackalloc byte[SaltBytes];
        RandomNumberGenerator.Fill(salt);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"pbkdf2-sha256${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Checks a password against a stored hash in constant time.</summary>
    public static bool VerifyPassword(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Rejects passwords that are too short or too long.</summary>
    public static void ValidatePassword(string? password)
    {
        if (password is null || password.Length < 12)
        {
            throw new ValidationException("password", "The password must be at least 12 characters long.");
        }

        if (password.Length > 1024)
        {
            throw new ValidationException("password", "The password must be at most 1024 characters long.");
        }
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
