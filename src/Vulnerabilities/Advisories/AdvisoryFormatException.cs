namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>
/// Thrown when an advisory document is malformed. The message names the file (or archive entry),
/// the JSON path or CSV line, and what is wrong.
/// </summary>
public sealed class AdvisoryFormatException : FormatException
{
    /// <summary>Creates an exception with a default message.</summary>
    public AdvisoryFormatException()
        : base("Invalid advisory document.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong and where.</param>
    public AdvisoryFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and inner exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The underlying cause.</param>
    public AdvisoryFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that names the document and location.</summary>
    /// <param name="source">The file, archive entry or feed name.</param>
    /// <param name="location">The JSON path (such as <c>$.affected[0].ranges[1]</c>) or CSV line.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public AdvisoryFormatException(string source, string location, string problem, Exception? innerException = null)
        : base($"{source}: {location}: {problem}", innerException)
    {
        Document = source;
        Location = location;
    }

    /// <summary>The file, archive entry or feed name; null when not known.</summary>
    public string? Document { get; }

    /// <summary>The JSON path or CSV line of the problem; null when not known.</summary>
    public string? Location { get; }
}
