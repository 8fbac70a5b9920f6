namespace McpSecurity.Risk.Alerts;

/// <summary>An open alert or incident as the assessment sees it (read from the alert store).</summary>
/// <param name="Id">Alert or incident id.</param>
/// <param name="Kind"><c>alert</c> or <c>incident</c>.</param>
/// <param name="Title">Rule title, or the incident's title.</param>
/// <param name="Level">Sigma level of the rule (the incident's worst).</param>
/// <param name="Tactics">ATT&amp;CK tactic names of the alert (of all its alerts, for an incident).</param>
/// <param name="Entities">Host names and addresses it concerns, matched against the assets' hosts.</param>
/// <param name="Recurrence">Earlier firings folded into it: repeat matches merged into the alert, or the incident's other alerts.</param>
/// <param name="Status">open or acknowledged.</param>
public sealed record AssessedAlert(string Id, string Kind, string Title, string Level, IReadOnlyList<string> Tactics, IReadOnlyList<string> Entities, long Recurrence, string Status);

/// <summary>A scored alert or incident with its explanation.</summary>
/// <param name="Id">Alert or incident id.</param>
/// <param name="Kind"><c>alert</c> or <c>incident</c>.</param>
/// <param name="Title">Title.</param>
/// <param name="RuleLevel">The rule's Sigma level.</param>
/// <param name="Score">0–100.</param>
/// <param name="Level">Risk level of the score.</param>
/// <param name="Tactic">The tactic that weighed.</param>
/// <param name="Asset">The asset it hit (most critical asset whose hosts match), or null.</param>
/// <param name="AssetTier">That asset's tier.</param>
/// <param name="Recurrence">Earlier firings counted.</param>
/// <param name="Breakdown">Points per factor.</param>
/// <param name="Status">open or acknowledged.</param>
public sealed record ScoredAlertDto(string Id, string Kind, string Title, string RuleLevel, double Score, string Level, string Tactic, string? Asset, int? AssetTier,
    long Recurrence, AlertBreakdownDto Breakdown, string Status);

/// <summary>Points each alert factor contributed; they add up to the score.</summary>
public sealed record AlertBreakdownDto(double Level, double Confidence, double Tactic, double Asset, double Recurrence, double Cap);
