namespace McpSecurity.Core;

/// <summary>Validation of human-readable names (tenants, users, keys).</summary>
public static class Names
{
    /// <summary>Maximum length of a name.</summary>
    public const int MaxLength = 128;

    /// <summary>Trims and validates a name; throws <see cref="ValidationException"/> naming the field.</summary>
    public static string Validate(string? value, string field)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            throw new ValidationException(field, $"'{field}' is required.");
        }

        if (trimmed.Length > MaxLength)
        {
            throw new ValidationException(field, $"'{field}' must be at most {MaxLength} characters (got {trimmed.Length}).");
        }

        foreach (var c in trimmed)
        {
            if (char.IsControl(c))
            {
                throw new ValidationException(field, $"'{field}' must not contain control characters.");
            }
        }

        return trimmed;
    }

    /// <summary>The case-insensitive key a name is unique by.</summary>
    public static string Key(string name) => name.ToUpperInvariant();
}
