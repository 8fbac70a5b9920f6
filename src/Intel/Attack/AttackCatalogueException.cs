namespace McpSecurity.Intel.Attack;

/// <summary>Thrown when an ATT&amp;CK bundle cannot be loaded: malformed JSON, not a bundle, or a limit broken.</summary>
public sealed class AttackCatalogueException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AttackCatalogueException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public AttackCatalogueException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AttackCatalogueException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
