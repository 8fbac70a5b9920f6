namespace McpSecurity.Ingestion.Sbom;

/// <summary>
/// A bill of materials could not be read or breaks the schema. The message names the file (when
/// known), the location (JSON path, or XML/text line and position) and the reason.
/// </summary>
public sealed class SbomFormatException : FormatException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public SbomFormatException()
        : base("The bill of materials is not valid.")
    {
        Reason = Message;
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The message.</param>
    public SbomFormatException(string message)
        : base(message)
    {
        Reason = message;
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SbomFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>Creates an exception that names the file, location and reason.</summary>
    /// <param name="fileName">The file name, when known.</param>
    /// <param name="location">A JSON path or a line/position description, when known.</param>
    /// <param name="reason">What is wrong and which rule it breaks.</param>
    /// <param name="innerException">The cause, when there is one.</param>
    public SbomFormatException(string? fileName, string? location, string reason, Exception? innerException = null)
        : base(Compose(fileName, location, reason), innerException)
    {
        FileName = fileName;
        Location = location;
        Reason = reason;
    }

    /// <summary>The file name, when known.</summary>
    public string? FileName { get; }

    /// <summary>The JSON path (for example <c>$.components[0].hashes[0].content</c>) or line and position.</summary>
    public string? Location { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }

    private static string Compose(string? fileName, string? location, string reason)
    {
        var file = string.IsNullOrEmpty(fileName) ? "SBOM" : fileName;
        return string.IsNullOrEmpty(location) ? $"{file}: {reason}" : $"{file}: {location}: {reason}";
    }
}
