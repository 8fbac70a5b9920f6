using System.Buffers;
using System.Text.Json;
using McpSecurity.Intel.Attack;
using McpSecurity.Reporting.Model;

namespace McpSecurity.Reporting.Builders;

/// <summary>Coverage of one ATT&amp;CK technique.</summary>
/// <param name="Technique">The technique (active, resolved through revocations).</param>
/// <param name="Rules">Titles of the enabled rules that name it (or one of its sub-techniques).</param>
/// <param name="Fired">Alerts raised for it in the period.</param>
public sealed record TechniqueCoverage(AttackObject Technique, IReadOnlyList<string> Rules, int Fired);

/// <summary>The computed coverage, used by the report and the Navigator layer.</summary>
/// <param name="Techniques">Every active technique and sub-technique of the catalogue with its coverage.</param>
/// <param name="UnresolvedTags">Rule tags that name nothing in the loaded catalogue, with the reason.</param>
/// <param name="EnabledRules">Enabled rules considered.</param>
/// <param name="DisabledRules">Disabled rules (not counted).</param>
public sealed record AttackCoverage(IReadOnlyList<TechniqueCoverage> Techniques, IReadOnlyList<(string Rule, string Tag, string Reason)> UnresolvedTags, int EnabledRules, int DisabledRules);

/// <summary>Builds the ATT&amp;CK coverage report from rule tags and the ATT&amp;CK catalogue, and its Navigator layer.</summary>
public static class AttackCoverageBuilder
{
    /// <summary>
    /// Computes coverage: a technique is covered when an enabled rule carries its tag or the tag of one of
    /// its sub-techniques (revoked ids follow their replacement); it fired when an alert in the period came
    /// from such a rule or names the technique.
    /// </summary>
    public static AttackCoverage Compute(AttackCatalogue catalogue, IReadOnlyList<RuleInfo> rules, IReadOnlyList<AlertRow> alertsInPeriod)
    {
        ArgumentNullException.ThrowIfNull(catalogue);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(alertsInPeriod);
        var rulesByTechnique = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var techniquesByRule = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var unresolved = new List<(string, string, string)>();
        int enabled = 0, disabled = 0;
        foreach (var rule in rules)
        {
            if (!rule.Enabled)
            {
                disabled++;
                continue;
            }

            enabled++;
            var mine = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var tag in rule.Tags)
            {
                var r = catalogue.ResolveTag(tag);
                if (r.Status == AttackTagStatus.NotAttack)
                {
                    continue;
                }

                if (r.Object is null)
                {
                    unresolved.Add((rule.Title, tag, r.Reason ?? "unknown"));
                    continue;
                }

                if (r.Object.Kind != AttackObjectKind.Technique)
                {
                    continue;
                }

                mine.Add(r.Object.ExternalId);
                if (r.Object.ParentId is { } parent)
                {
                    mine.Add(parent);
                }
            }

            foreach (var id in mine)
            {
                if (!rulesByTechnique.TryGetValue(id, out var list))
                {
                    rulesByTechnique[id] = list = [];
                }

                list.Add(rule.Title);
            }

            techniquesByRule[rule.Id] = mine;
        }

        var fired = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var alert in alertsInPeriod)
        {
            var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (alert.RuleId is { } ruleId && techniquesByRule.TryGetValue(ruleId, out var fromRule))
            {
                ids.UnionWith(fromRule);
            }

            foreach (var t in alert.Techniques)
            {
                if (catalogue.Resolve(t) is { } obj)
                {
                    ids.Add(obj.ExternalId);
                    if (obj.ParentId is { } parent)
                    {
                        ids.Add(parent);
                    }
                }
            }

            foreach (var id in ids)
            {
                fired[id] = fired.GetValueOrDefault(id) + 1;
            }
        }

        var result = new List<TechniqueCoverage>();
        foreach (var t in catalogue.Techniques)
        {
            if (!t.IsActive)
            {
                continue;
            }

            result.Add(new TechniqueCoverage(t, rulesByTechnique.TryGetValue(t.ExternalId, out var titles) ? titles : [], fired.GetValueOrDefault(t.ExternalId)));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Technique.ExternalId, b.Technique.ExternalId));
        return new AttackCoverage(result, unresolved, enabled, disabled);
    }

    /// <summary>Builds the coverage report.</summary>
    public static ReportDocument Build(ReportContext context, AttackCatalogue catalogue, DataSource<RuleInfo> rules, DataSource<AlertRow> alerts)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(catalogue);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(alerts);
        var inPeriod = alerts.Items.Where(a => context.Period.Contains(a.CreatedAt)).ToList();
        var coverage = Compute(catalogue, rules.Items, inPeriod);
        var sections = new List<ReportSection>();
        if (!rules.IsAvailable)
        {
            sections.Add(new ReportSection("Rules", [Fmt.Unavailable(rules, "Detection rules")]));
        }

        var parents = coverage.Techniques.Where(t => !t.Technique.IsSubtechnique).ToList();
        var covered = parents.Count(t => t.Rules.Count > 0);
        var firedCount = parents.Count(t => t.Fired > 0);
        var summary = new List<ReportBlock>
        {
            new MetricsBlock(
            [
                new Metric("Enabled rules", Fmt.Int(coverage.EnabledRules)),
                new Metric("Disabled rules", Fmt.Int(coverage.DisabledRules)),
                new Metric("Techniques covered", Fmt.Int(covered) + " of " + Fmt.Int(parents.Count), covered > 0 ? "good" : "bad"),
                new Metric("Coverage", parents.Count == 0 ? "-" : Fmt.Percent((double)covered / parents.Count)),
                new Metric("Techniques that fired", Fmt.Int(firedCount)),
            ]),
        };
        if (!alerts.IsAvailable)
        {
            summary.Add(Fmt.Unavailable(alerts, "Alerts (which techniques fired)"));
        }
        else if (inPeriod.Count == 0)
        {
            summary.Add(new NoticeBlock("info", "No alerts in the period: no technique fired."));
        }

        if (rules.IsAvailable && coverage.EnabledRules == 0)
        {
            summary.Add(new NoticeBlock("warning", "No enabled rule: nothing is covered."));
        }

        sections.Add(new ReportSection("Summary", summary));

        var tacticRows = new List<string[]>();
        var tacticBars = new List<Bar>();
        foreach (var tactic in catalogue.Tactics.Where(t => t.IsActive))
        {
            var inTactic = parents.Where(t => t.Technique.TacticShortNames.Contains(tactic.ShortName ?? string.Empty, StringComparer.Ordinal)).ToList();
            var c = inTactic.Count(t => t.Rules.Count > 0);
            tacticRows.Add([tactic.Name, tactic.ExternalId, Fmt.Int(inTactic.Count), Fmt.Int(c), inTactic.Count == 0 ? "-" : Fmt.Percent((double)c / inTactic.Count), Fmt.Int(inTactic.Count(t => t.Fired > 0))]);
            tacticBars.Add(new Bar(tactic.Name, inTactic.Count == 0 ? 0 : Math.Round(100.0 * c / inTactic.Count, 1), "good"));
        }

        sections.Add(new ReportSection("Coverage by tactic",
        [
            new BarChartBlock("Techniques covered per tactic (%)", tacticBars),
            new TableBlock("tactics", ["Tactic", "Id", "Techniques", "Covered", "Coverage", "Fired"], tacticRows),
        ]));

        var rows = coverage.Techniques.Where(t => t.Rules.Count > 0 || t.Fired > 0)
            .Select(t => new[] { t.Technique.ExternalId, t.Technique.Name, string.Join(", ", t.Technique.TacticShortNames), Fmt.Int(t.Rules.Count), Fmt.Int(t.Fired), Fmt.Join(t.Rules, 3) })
            .ToList();
        sections.Add(new ReportSection("Covered techniques", rows.Count == 0
            ? [new NoticeBlock("info", "No technique is covered by an enabled rule.")]
            : [new TableBlock("techniques", ["Technique", "Name", "Tactics", "Rules", "Fired", "Rule titles"], rows, Primary: true, Widths: [1, 2.4, 2, 0.6, 0.6, 4])]));
        if (coverage.UnresolvedTags.Count > 0)
        {
            sections.Add(new ReportSection("Tags not in the catalogue",
            [
                new TableBlock("unresolved-tags", ["Rule", "Tag", "Reason"], coverage.UnresolvedTags.Take(200).Select(u => new[] { u.Rule, u.Tag, u.Reason }).ToList()),
            ]));
        }

        return new ReportDocument
        {
            Kind = ReportKind.AttackCoverage.Name(),
            Title = "ATT&CK coverage",
            Subtitle = Fmt.Period(context.Period),
            Tenant = context.Tenant,
            GeneratedAt = context.Now,
            Period = context.Period,
            Sections = sections,
            Empty = coverage.EnabledRules == 0 && inPeriod.Count == 0,
        };
    }

    /// <summary>
    /// Writes an ATT&amp;CK Navigator layer (layer format 4.5, enterprise domain): score = enabled rules per technique,
    /// techniques that fired in red with the alert count in their comment and metadata.
    /// </summary>
    /// <param name="coverage">Computed coverage.</param>
    /// <param name="name">Layer name.</param>
    /// <param name="attackVersion">
    /// ATT&amp;CK release of the loaded catalogue (such as <c>17.1</c>; the layer names its major version), or null
    /// when unknown: the layer then names none and the Navigator opens it with its own release.
    /// </param>
    public static byte[] NavigatorLayer(AttackCoverage coverage, string name, string? attackVersion)
    {
        ArgumentNullException.ThrowIfNull(coverage);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var max = 1;
            foreach (var t in coverage.Techniques)
            {
                max = Math.Max(max, t.Rules.Count);
            }

            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteStartObject("versions");
            if (!string.IsNullOrWhiteSpace(attackVersion))
            {
                var dot = attackVersion.IndexOf('.', StringComparison.Ordinal);
                w.WriteString("attack", dot > 0 ? attackVersion[..dot] : attackVersion);
            }

            w.WriteString("navigator", "5.1.0");
            w.WriteString("layer", "4.5");
            w.WriteEndObject();
            w.WriteString("domain", "enterprise-attack");
            w.WriteString("description", "Techniques covered by enabled detection rules (score = number of rules); red = fired in the period.");
            w.WriteStartObject("filters");
            w.WriteStartArray("platforms");
            foreach (var p in (string[])["Windows", "Linux", "macOS", "Network Devices", "ESXi", "PRE", "Containers", "IaaS", "SaaS", "Office Suite", "Identity Provider"])
            {
                w.WriteStringValue(p);
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteBoolean("hideDisabled", false);
            w.WriteStartArray("techniques");
            foreach (var t in coverage.Techniques)
            {
                if (t.Rules.Count == 0 && t.Fired == 0)
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("techniqueID", t.Technique.ExternalId);
                w.WriteNumber("score", t.Rules.Count);
                if (t.Fired > 0)
                {
                    w.WriteString("color", "#e6550d");
                }

                w.WriteString("comment", t.Fired > 0
                    ? $"{t.Rules.Count} rule(s); fired {t.Fired} time(s) in the period"
                    : $"{t.Rules.Count} rule(s)");
                w.WriteBoolean("enabled", true);
                w.WriteBoolean("showSubtechniques", false);
                w.WriteStartArray("metadata");
                foreach (var rule in t.Rules.Take(20))
                {
                    w.WriteStartObject();
                    w.WriteString("name", "rule");
                    w.WriteString("value", rule);
                    w.WriteEndObject();
                }

                w.WriteStartObject();
                w.WriteString("name", "fired");
                w.WriteString("value", t.Fired.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("gradient");
            w.WriteStartArray("colors");
            w.WriteStringValue("#ffffffff");
            w.WriteStringValue("#66b1ffff");
            w.WriteStringValue("#1f5fa8ff");
            w.WriteEndArray();
            w.WriteNumber("minValue", 0);
            w.WriteNumber("maxValue", max);
            w.WriteEndObject();
            w.WriteStartArray("legendItems");
            w.WriteStartObject();
            w.WriteString("label", "Fired in the period");
            w.WriteString("color", "#e6550d");
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("label", "Covered by enabled rules (darker = more rules)");
            w.WriteString("color", "#66b1ff");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteBoolean("showTacticRowBackground", false);
            w.WriteBoolean("selectTechniquesAcrossTactics", true);
            w.WriteBoolean("selectSubtechniquesWithParent", false);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
