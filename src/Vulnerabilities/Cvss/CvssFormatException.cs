namespace McpSecurity.Vulnerabilities.Cvss;

/// <summary>Thrown when a CVSS vector is malformed; the message names the version, metric and value.</summary>
public sealed class CvssFormatException : FormatException
{
    /// <summary>Creates an exception with a default message.</summary>
    public CvssFormatException()
        : base("Invalid CVSS vector.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong with the vector.</param>
    public CvssFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and inner exception.</summary>
    /// <param name="message">What is wrong with the vector.</param>
    /// <param name="innerException">The underlying cause.</param>
    public CvssFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
