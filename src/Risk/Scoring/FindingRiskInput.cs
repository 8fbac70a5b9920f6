using McpSecurity.Core.Risk;

namespace McpSecurity.Risk.Scoring;

/// <summary>How mature the known exploit code of a vulnerability is (CVSS Exploit Code Maturity, or KEV).</summary>
public enum ExploitMaturity : byte
{
    /// <summary>Nothing is known.</summary>
    Unknown = 0,

    /// <summary>No exploit code is known (CVSS E:U).</summary>
    Unproven = 1,

    /// <summary>Proof-of-concept code exists (CVSS E:P / E:POC).</summary>
    ProofOfConcept = 2,

    /// <summary>Working exploit code exists (CVSS E:F).</summary>
    Functional = 3,

    /// <summary>Exploitation is widespread or automated (CVSS E:H, v4 E:A).</summary>
    High = 4,
}

/// <summary>Compensating controls and triage outcomes that lower a finding's risk.</summary>
public enum ControlState : byte
{
    /// <summary>No control: the finding is open.</summary>
    None = 0,

    /// <summary>A VEX statement says the product is not affected (or a suppression with a reason).</summary>
    Suppressed = 1,

    /// <summary>Somebody accepted the risk with a reason.</summary>
    RiskAccepted = 2,

    /// <summary>Not a real vulnerability for this component.</summary>
    FalsePositive = 3,

    /// <summary>Gone in a newer version.</summary>
    Fixed = 4,
}

/// <summary>
/// Everything the model needs to score one finding, as plain values: a struct so that scoring a
/// million findings allocates nothing. Build it with <see cref="FindingRiskInputs"/>, which validates.
/// </summary>
public struct FindingRiskInput
{
    /// <summary>CVSS score 0–10 (the most specific score of the best vector, environmental when the asset gives requirements); NaN when unknown.</summary>
    public float Cvss { get; set; }

    /// <summary>Severity used when there is no CVSS score: 0 unknown, 1 low, 2 medium, 3 high, 4 critical.</summary>
    public byte SeverityRank { get; set; }

    /// <summary>EPSS probability 0–1; NaN when unknown.</summary>
    public float EpssProbability { get; set; }

    /// <summary>EPSS percentile 0–1; NaN when unknown.</summary>
    public float EpssPercentile { get; set; }

    /// <summary>Listed in the CISA KEV catalogue.</summary>
    public bool Kev { get; set; }

    /// <summary>KEV says it is known to be used in ransomware campaigns.</summary>
    public bool KevRansomware { get; set; }

    /// <summary>Days until the KEV due date (negative when overdue); <see cref="int.MaxValue"/> when there is none.</summary>
    public int KevDueInDays { get; set; }

    /// <summary>Exploit code maturity.</summary>
    public ExploitMaturity Maturity { get; set; }

    /// <summary>Asset criticality tier 0–3; -1 when no asset is linked.</summary>
    public sbyte AssetTier { get; set; }

    /// <summary>The asset is reachable from the internet.</summary>
    public bool InternetFacing { get; set; }

    /// <summary>The most sensitive data the asset holds.</summary>
    public DataClassification Data { get; set; }

    /// <summary>Dependency depth: 1 direct, 2 and more transitive, 0 unknown.</summary>
    public byte DependencyDepth { get; set; }

    /// <summary>Compensating control or triage outcome.</summary>
    public ControlState Control { get; set; }

    /// <summary>Days since the finding was first seen.</summary>
    public int AgeDays { get; set; }
}

/// <summary>
/// How each factor moved the score, in points: the answer to "why this score?". The contributions add
/// up to <see cref="FindingRiskScore.Score"/> exactly (<see cref="Cap"/> takes up clamping to 0–100).
/// </summary>
public struct FindingRiskBreakdown
{
    /// <summary>Severity points: CVSS × severity weight.</summary>
    public float Severity { get; set; }

    /// <summary>Threat points: the strongest of EPSS, exploit maturity and KEV, plus ransomware use.</summary>
    public float Threat { get; set; }

    /// <summary>Change from the asset's criticality tier.</summary>
    public float Asset { get; set; }

    /// <summary>Change from internet exposure.</summary>
    public float Exposure { get; set; }

    /// <summary>Change from the data classification.</summary>
    public float Data { get; set; }

    /// <summary>Change from dependency depth (transitive dependencies weigh less).</summary>
    public float Depth { get; set; }

    /// <summary>Change from compensating controls (VEX, suppression, acceptance).</summary>
    public float Controls { get; set; }

    /// <summary>Points for being older than the SLA of its level.</summary>
    public float Age { get; set; }

    /// <summary>Points for a passed KEV due date.</summary>
    public float KevOverdue { get; set; }

    /// <summary>Clamping to 0–100.</summary>
    public float Cap { get; set; }
}

/// <summary>A finding's score, level and breakdown.</summary>
public struct FindingRiskScore
{
    /// <summary>0–100.</summary>
    public float Score { get; set; }

    /// <summary>The level of <see cref="Score"/>.</summary>
    public RiskLevel Level { get; set; }

    /// <summary>The SLA in days of the level the finding had before age was counted.</summary>
    public short SlaDays { get; set; }

    /// <summary>Why.</summary>
    public FindingRiskBreakdown Breakdown { get; set; }
}
