namespace McpSecurity.Vulnerabilities.Purl;

/// <summary>
/// Thrown when a string is not a valid Package URL, or when components cannot form one.
/// The message names the input, the component and the rule that was broken.
/// </summary>
public sealed class PackageUrlFormatException : FormatException
{
    /// <summary>Creates an exception with a default message.</summary>
    public PackageUrlFormatException()
        : base("Invalid Package URL.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong, naming the component and the rule.</param>
    public PackageUrlFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and inner exception.</summary>
    /// <param name="message">What is wrong, naming the component and the rule.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PackageUrlFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
