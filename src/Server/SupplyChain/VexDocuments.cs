using McpSecurity.Core;
using McpSecurity.Core.SupplyChain;
using McpSecurity.Ingestion.Sbom;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Vex;

namespace McpSecurity.Server.SupplyChain;

/// <summary>
/// Reads VEX documents (OpenVEX JSON, or CycloneDX JSON/XML with a vulnerabilities section) into one
/// model, and decides what a statement does to a finding.
/// </summary>
public static class VexDocuments
{
    /// <summary>Reads a VEX document; bad documents raise <see cref="ValidationException"/> naming the JSON path (or SBOM location).</summary>
    public static VexDocument Read(ReadOnlyMemory<byte> content, string? fileName)
    {
        if (OpenVexReader.LooksLikeOpenVex(content.Span))
        {
            try
            {
                return OpenVexReader.Read(content);
            }
            catch (VexFormatException ex)
            {
                throw new ValidationException(ex.Path ?? "document", ex.Message);
            }
        }

        SbomDocument sbom;
        try
        {
            sbom = SbomReader.Read(content, fileName);
        }
        catch (SbomFormatException ex)
        {
            throw new ValidationException(ex.Location ?? "document", "neither an OpenVEX document (no https://openvex.dev/ns context) nor a readable CycloneDX document: " + ex.Message);
        }

        if (sbom.Format is not (SbomFormat.CycloneDxJson or SbomFormat.CycloneDxXml) || sbom.Vulnerabilities.Count == 0)
        {
            throw new ValidationException("$.vulnerabilities", "a VEX document is OpenVEX, or CycloneDX with a vulnerabilities section; this document has no VEX statements.");
        }

        return FromCycloneDx(sbom);
    }

    /// <summary>The VEX statements of a CycloneDX document: each vulnerability with an analysis state, for each element it affects.</summary>
    public static VexDocument FromCycloneDx(SbomDocument document)
    {
        var statements = new List<VexStatement>();
        for (var i = 0; i < document.Vulnerabilities.Count; i++)
        {
            var v = document.Vulnerabilities[i];
            if (v.Analysis is not { State: { } state } analysis)
            {
                continue;
            }

            VexStatus? status = state switch
            {
                "not_affected" or "false_positive" => VexStatus.NotAffected,
                "exploitable" => VexStatus.Affected,
                "resolved" or "resolved_with_pedigree" => VexStatus.Fixed,
                "in_triage" => VexStatus.UnderInvestigation,
                _ => null,
            };
            if (status is null)
            {
                continue;
            }

            var products = new List<VexProduct>(v.Affects.Count);
            foreach (var a in v.Affects)
            {
                var reference = a.BomLink?.BomRef ?? a.Ref;
                var purl = reference.StartsWith("pkg:", StringComparison.Ordinal) && PackageUrl.TryParse(reference, out var p, out _) ? p : null;
                if (purl is null && document.FindComponent(reference)?.Purl is { } componentPurl && PackageUrl.TryParse(componentPurl, out var cp, out _))
                {
                    purl = cp;
                }

                products.Add(new VexProduct(reference, purl, []));
            }

            // A CycloneDX vulnerability without affects says nothing about any component.
            if (products.Count == 0)
            {
                continue;
            }

            var justification = state == "false_positive" ? "false_positive" : analysis.Justification;
            statements.Add(new VexStatement(v.Id, [], products, status.Value, justification, analysis.Detail, document.Timestamp,
                $"$.vulnerabilities[{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}]"));
        }

        return new VexDocument("CycloneDX", document.SerialNumber, null, document.Timestamp, statements);
    }

    /// <summary>
    /// The state a finding takes from a statement, or null for no change: not_affected suppresses an open
    /// finding, fixed marks it fixed, affected reopens a finding that VEX had suppressed or fixed, and
    /// under_investigation changes nothing. Decisions people made (risk-accepted, false-positive) are kept.
    /// </summary>
    public static FindingState? Target(FindingState current, VexStatus status) => (current, status) switch
    {
        (FindingState.RiskAccepted or FindingState.FalsePositive, _) => null,
        (_, VexStatus.NotAffected) => FindingState.Suppressed,
        (_, VexStatus.Fixed) => FindingState.Fixed,
        (FindingState.Suppressed or FindingState.Fixed, VexStatus.Affected) => FindingState.Open,
        _ => null,
    };

    /// <summary>Applies the deciding statement of a matcher to a new (not yet stored) finding.</summary>
    public static NewFinding Apply(NewFinding finding, VexMatcher vex, string? rootPurl, string documentName)
    {
        if (vex.IsEmpty || vex.Find(finding.VulnerabilityId, finding.Aliases, finding.ComponentRef, finding.Purl, rootPurl) is not { } statement)
        {
            return finding;
        }

        return Target(finding.State, statement.Status) is { } state
            ? finding with { State = state, StateReason = statement.Reason(documentName), Justification = statement.Justification }
            : finding;
    }
}
