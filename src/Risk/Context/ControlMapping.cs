using McpSecurity.Core.Risk;
using McpSecurity.Risk.Scoring;

namespace McpSecurity.Risk.Context;

/// <summary>A control of a compliance framework that a finding bears on.</summary>
/// <param name="Framework">SOC2, ISO27001, PCI-DSS or HIPAA.</param>
/// <param name="Id">Control id, e.g. <c>CC7.1</c> or <c>A.8.8</c>.</param>
/// <param name="Title">Control title.</param>
public sealed record ComplianceControl(string Framework, string Id, string Title);

/// <summary>
/// Maps findings to the control families they affect (docs/risk-model.md, "Compliance"). The rules are
/// fixed and deterministic: every vulnerability touches vulnerability management; exploited ones touch
/// threat intelligence; a fix waiting to be applied touches change management; transitive dependencies
/// touch supplier (supply-chain) controls; regulated frameworks add their patching requirement.
/// </summary>
public static class ControlMapping
{
    private static readonly ComplianceControl Soc2Vuln = new("SOC2", "CC7.1", "Detection and monitoring of vulnerabilities in system components");
    private static readonly ComplianceControl Soc2Incident = new("SOC2", "CC7.2", "Monitoring of system components for anomalies indicating malicious acts");
    private static readonly ComplianceControl Soc2Change = new("SOC2", "CC8.1", "Authorised, tested and approved changes to infrastructure and software");
    private static readonly ComplianceControl Soc2Vendor = new("SOC2", "CC9.2", "Assessment and management of risks from vendors and business partners");
    private static readonly ComplianceControl IsoVuln = new("ISO27001", "A.8.8", "Management of technical vulnerabilities");
    private static readonly ComplianceControl IsoThreat = new("ISO27001", "A.5.7", "Threat intelligence");
    private static readonly ComplianceControl IsoChange = new("ISO27001", "A.8.32", "Change management");
    private static readonly ComplianceControl IsoSupply = new("ISO27001", "A.5.21", "Managing information security in the ICT supply chain");
    private static readonly ComplianceControl PciRank = new("PCI-DSS", "6.3.1", "Security vulnerabilities are identified and ranked by risk");
    private static readonly ComplianceControl PciPatch = new("PCI-DSS", "6.3.3", "Critical and high vulnerabilities are patched within one month of release");
    private static readonly ComplianceControl PciInventory = new("PCI-DSS", "6.3.2", "An inventory of bespoke and third-party software components is maintained");
    private static readonly ComplianceControl HipaaAnalysis = new("HIPAA", "164.308(a)(1)(ii)(A)", "Risk analysis");
    private static readonly ComplianceControl HipaaManagement = new("HIPAA", "164.308(a)(1)(ii)(B)", "Risk management");

    /// <summary>Every control the mapping can produce, for the facts given to an LLM.</summary>
    public static IReadOnlyList<ComplianceControl> All { get; } =
        [Soc2Vuln, Soc2Incident, Soc2Change, Soc2Vendor, IsoVuln, IsoThreat, IsoChange, IsoSupply, PciRank, PciPatch, PciInventory, HipaaAnalysis, HipaaManagement];

    /// <summary>The controls of the frameworks in scope that one finding affects (none for closed findings).</summary>
    public static IReadOnlyList<ComplianceControl> Map(in FindingRiskInput input, RiskLevel level, bool fixAvailable, IReadOnlyList<string> frameworks)
    {
        ArgumentNullException.ThrowIfNull(frameworks);
        var list = new List<ComplianceControl>();
        if (input.Control is ControlState.FalsePositive or ControlState.Fixed)
        {
            return list;
        }

        var exploited = input.Kev || input.Maturity >= ExploitMaturity.Functional;
        var transitive = input.DependencyDepth >= 2;
        foreach (var f in frameworks)
        {
            switch (f)
            {
                case "SOC2":
                    list.Add(Soc2Vuln);
                    Add(list, exploited, Soc2Incident);
                    Add(list, fixAvailable, Soc2Change);
                    Add(list, transitive, Soc2Vendor);
                    break;
                case "ISO27001":
                    list.Add(IsoVuln);
                    Add(list, exploited, IsoThreat);
                    Add(list, fixAvailable, IsoChange);
                    Add(list, transitive, IsoSupply);
                    break;
                case "PCI-DSS":
                    list.Add(PciRank);
                    Add(list, level >= RiskLevel.High, PciPatch);
                    Add(list, transitive, PciInventory);
                    break;
                case "HIPAA":
                    list.Add(HipaaAnalysis);
                    Add(list, level >= RiskLevel.Medium, HipaaManagement);
                    break;
                default:
                    break;
            }
        }

        return list;
    }

    private static void Add(List<ComplianceControl> list, bool condition, ComplianceControl control)
    {
        if (condition)
        {
            list.Add(control);
        }
    }
}
