namespace McpSecurity.Intel.Attack;

/// <summary>How a Sigma <c>attack.*</c> tag was resolved.</summary>
public enum AttackTagStatus
{
    /// <summary>The tag names an active object of the loaded ATT&amp;CK version.</summary>
    Resolved,

    /// <summary>The tag names a revoked object; <see cref="AttackTagResolution.Object"/> is its replacement.</summary>
    Replaced,

    /// <summary>The tag names a deprecated object (kept, but withdrawn by MITRE).</summary>
    Deprecated,

    /// <summary>The tag is in the <c>attack.</c> namespace but names nothing in the loaded version.</summary>
    Unknown,

    /// <summary>The tag is not in the <c>attack.</c> namespace.</summary>
    NotAttack,
}

/// <summary>The result of resolving one Sigma tag against the catalogue.</summary>
/// <param name="Tag">The tag as given.</param>
/// <param name="Status">How it resolved.</param>
/// <param name="Object">The object it names (the replacement for a revoked one); null when unknown.</param>
/// <param name="Reason">Why it did not resolve cleanly; null when <see cref="AttackTagStatus.Resolved"/>.</param>
public sealed record AttackTagResolution(string Tag, AttackTagStatus Status, AttackObject? Object, string? Reason)
{
    /// <summary>True when the tag names an object (resolved, replaced or deprecated).</summary>
    public bool IsKnown => Object is not null;
}
