using McpSecurity.Vulnerabilities.Purl;

namespace McpSecurity.Vulnerabilities.Vex;

/// <summary>The status a VEX statement gives a vulnerability in a product (OpenVEX names; CycloneDX analysis states map onto them).</summary>
public enum VexStatus
{
    /// <summary>The product is not affected (OpenVEX <c>not_affected</c>; CycloneDX <c>not_affected</c>, <c>false_positive</c>).</summary>
    NotAffected,

    /// <summary>The product is affected (OpenVEX <c>affected</c>; CycloneDX <c>exploitable</c>).</summary>
    Affected,

    /// <summary>The product version contains the fix (OpenVEX <c>fixed</c>; CycloneDX <c>resolved</c>).</summary>
    Fixed,

    /// <summary>Not yet known (OpenVEX <c>under_investigation</c>; CycloneDX <c>in_triage</c>).</summary>
    UnderInvestigation,
}

/// <summary>A product (or subcomponent) a VEX statement speaks about.</summary>
/// <param name="Id">The identifier as written: usually a purl, otherwise an IRI, a hash or a local reference.</param>
/// <param name="Purl">The identifier (or its <c>identifiers.purl</c>) parsed as a package URL; null when it is not one.</param>
/// <param name="Subcomponents">The components inside the product the statement is about; empty when the statement is about the product itself.</param>
public sealed record VexProduct(string Id, PackageUrl? Purl, IReadOnlyList<VexProduct> Subcomponents);

/// <summary>One VEX statement: a vulnerability, the products it concerns and their status.</summary>
/// <param name="Vulnerability">The vulnerability name (CVE, GHSA, GO-…).</param>
/// <param name="Aliases">Other names of the vulnerability given by the statement.</param>
/// <param name="Products">The products; empty means the product the document accompanies (early OpenVEX documents leave it out).</param>
/// <param name="Status">The status.</param>
/// <param name="Justification">Why not affected (OpenVEX justification label), or null.</param>
/// <param name="Detail">Impact statement, action statement or CycloneDX analysis detail, or null.</param>
/// <param name="Timestamp">When the statement was made (the statement's own, else the document's), or null.</param>
/// <param name="Path">JSON path of the statement in its document, for explanations.</param>
public sealed record VexStatement(
    string Vulnerability,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<VexProduct> Products,
    VexStatus Status,
    string? Justification,
    string? Detail,
    DateTimeOffset? Timestamp,
    string Path)
{
    /// <summary>The status as OpenVEX writes it.</summary>
    public string StatusName => Status switch
    {
        VexStatus.NotAffected => "not_affected",
        VexStatus.Affected => "affected",
        VexStatus.Fixed => "fixed",
        _ => "under_investigation",
    };

    /// <summary>A one-line reason for a finding's state, naming the document, status, justification and detail.</summary>
    public string Reason(string documentName) =>
        $"VEX {StatusName}{(Justification is null ? "" : ": " + Justification)}{(Detail is null ? "" : " (" + Detail + ")")} [{documentName} {Path}]";
}

/// <summary>A parsed VEX document.</summary>
/// <param name="Format">"OpenVEX" or "CycloneDX".</param>
/// <param name="Id">The document's <c>@id</c> or serial number, or null.</param>
/// <param name="Author">The author, or null.</param>
/// <param name="Timestamp">The document timestamp, or null.</param>
/// <param name="Statements">The statements in document order.</param>
public sealed record VexDocument(string Format, string? Id, string? Author, DateTimeOffset? Timestamp, IReadOnlyList<VexStatement> Statements);

/// <summary>A VEX document that cannot be read; <see cref="Path"/> is the JSON path of the offending member.</summary>
public sealed class VexFormatException : FormatException
{
    /// <summary>Creates an exception with a default message.</summary>
    public VexFormatException()
        : base("Invalid VEX document.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong.</param>
    public VexFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and inner exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public VexFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the JSON path of the offending member.</summary>
    /// <param name="path">JSON path, e.g. <c>$.statements[2].status</c>.</param>
    /// <param name="message">What is wrong there.</param>
    public VexFormatException(string path, string message)
        : base($"{path}: {message}")
    {
        Path = path;
    }

    /// <summary>JSON path of the offending member, or null.</summary>
    public string? Path { get; }
}
