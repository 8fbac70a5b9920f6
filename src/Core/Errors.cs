namespace McpSecurity.Core;

/// <summary>Input that breaks a rule; maps to HTTP 400 and CLI exit code 2.</summary>
public sealed class ValidationException(string field, string message) : Exception(message)
{
    /// <summary>The field or JSON path that is wrong.</summary>
    public string Field { get; } = field;
}

/// <summary>The entity does not exist in the caller's tenant; maps to HTTP 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The change conflicts with existing state (for example a duplicate name); maps to HTTP 409.</summary>
public sealed class ConflictException(string message) : Exception(message);

/// <summary>The store could not be opened or migrated; the message says what to do.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
