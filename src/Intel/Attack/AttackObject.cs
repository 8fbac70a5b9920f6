namespace McpSecurity.Intel.Attack;

/// <summary>The kinds of ATT&amp;CK object the catalogue holds.</summary>
public enum AttackObjectKind
{
    /// <summary>A tactic (<c>TA0002</c> Execution), from <c>x-mitre-tactic</c>.</summary>
    Tactic,

    /// <summary>A technique or sub-technique (<c>T1059</c>, <c>T1059.001</c>), from <c>attack-pattern</c>.</summary>
    Technique,

    /// <summary>A group (<c>G0016</c>), from <c>intrusion-set</c>.</summary>
    Group,

    /// <summary>Software (<c>S0002</c>), from <c>malware</c> or <c>tool</c>.</summary>
    Software,

    /// <summary>A mitigation (<c>M1038</c>), from <c>course-of-action</c>.</summary>
    Mitigation,
}

/// <summary>One ATT&amp;CK tactic, technique, group, software or mitigation.</summary>
public sealed class AttackObject
{
    /// <summary>What kind of object this is.</summary>
    public required AttackObjectKind Kind { get; init; }

    /// <summary>The ATT&amp;CK id, upper case: <c>TA0002</c>, <c>T1059.001</c>, <c>G0016</c>, <c>S0002</c>, <c>M1038</c>.</summary>
    public required string ExternalId { get; init; }

    /// <summary>The STIX id (<c>attack-pattern--...</c>).</summary>
    public required string StixId { get; init; }

    /// <summary>The name (<c>PowerShell</c>, <c>APT29</c>...).</summary>
    public required string Name { get; init; }

    /// <summary>The page on attack.mitre.org, when given.</summary>
    public string? Url { get; init; }

    /// <summary>True when MITRE revoked the object; <see cref="RevokedBy"/> then names its replacement, when known.</summary>
    public bool Revoked { get; init; }

    /// <summary>True when MITRE deprecated the object (withdrawn without a replacement).</summary>
    public bool Deprecated { get; init; }

    /// <summary>The object that replaced this revoked one (through a <c>revoked-by</c> relationship); null otherwise.</summary>
    public AttackObject? RevokedBy { get; internal set; }

    /// <summary>For a tactic, its short name (<c>execution</c>, <c>command-and-control</c>); null otherwise.</summary>
    public string? ShortName { get; init; }

    /// <summary>For a technique, the short names of its tactics (from <c>kill_chain_phases</c>); empty otherwise.</summary>
    public IReadOnlyList<string> TacticShortNames { get; init; } = [];

    /// <summary>The platforms (<c>Windows</c>, <c>Linux</c>...) of a technique or software; empty when not given.</summary>
    public IReadOnlyList<string> Platforms { get; init; } = [];

    /// <summary>Other names of a group or software; empty when not given.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>True for a sub-technique (<c>T1059.001</c>).</summary>
    public bool IsSubtechnique { get; init; }

    /// <summary>For a sub-technique, the id of its parent technique (<c>T1059</c>); null otherwise.</summary>
    public string? ParentId => IsSubtechnique && ExternalId.IndexOf('.', StringComparison.Ordinal) is var dot and > 0 ? ExternalId[..dot] : null;

    /// <summary>For software, <c>malware</c> or <c>tool</c>; null otherwise.</summary>
    public string? SoftwareType { get; init; }

    /// <summary>True when the object is neither revoked nor deprecated.</summary>
    public bool IsActive => !Revoked && !Deprecated;

    /// <inheritdoc />
    public override string ToString() => ExternalId + " " + Name;
}
