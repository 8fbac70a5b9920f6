namespace McpSecurity.Ingestion.Events;

/// <summary>
/// Thrown by <see cref="SyslogParser.Parse(ReadOnlySpan{byte}, SyslogParserOptions?)"/> for input that cannot
/// be a syslog message at all: empty input, or input longer than <see cref="SyslogParserOptions.MaxMessageBytes"/>.
/// Malformed headers are not errors: the parser is lenient and keeps what it cannot parse in the message.
/// </summary>
public sealed class SyslogFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SyslogFormatException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public SyslogFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SyslogFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
