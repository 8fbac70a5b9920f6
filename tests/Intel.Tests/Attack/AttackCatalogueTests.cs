using System.Text;
using System.Text.RegularExpressions;
using McpSecurity.Intel.Attack;
using McpSecurity.Testing;

namespace McpSecurity.Intel.Tests.Attack;

public sealed partial class AttackCatalogueTests
{
    private static readonly Lazy<AttackCatalogue> Catalogue = new(() => AttackCatalogue.LoadFile(TestData.Path("attack", "enterprise-attack.json")));

    [Fact]
    public void Techniques_HaveIdsNamesAndKnownTactics()
    {
        var catalogue = Catalogue.Value;

        Assert.NotEmpty(catalogue.Techniques);
        var tacticNames = catalogue.Tactics.Select(t => t.ShortName).ToHashSet(StringComparer.Ordinal);
        foreach (var technique in catalogue.Techniques)
        {
            Assert.Matches(TechniqueId(), technique.ExternalId);
            Assert.False(string.IsNullOrWhiteSpace(technique.Name));
            Assert.StartsWith("attack-pattern--", technique.StixId, StringComparison.Ordinal);
            Assert.All(technique.TacticShortNames, t => Assert.Contains(t, tacticNames));
            if (technique.IsActive)
            {
                Assert.NotEmpty(technique.TacticShortNames);
            }

            if (technique.IsSubtechnique && technique.IsActive)
            {
                var parent = catalogue.Find(technique.ParentId!);
                Assert.NotNull(parent);
                Assert.False(parent.IsSubtechnique);
            }
        }
    }

    [Fact]
    public void Tactics_AreInMatrixOrderWithShortNames()
    {
        var tactics = Catalogue.Value.Tactics;

        Assert.Equal("reconnaissance", tactics[0].ShortName);
        Assert.Equal("impact", tactics[^1].ShortName);
        Assert.All(tactics, t => Assert.Matches("^TA[0-9]{4}$", t.ExternalId));
        Assert.Equal(tactics.Count, tactics.Select(t => t.ShortName).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void WellKnownTechnique_PowerShell()
    {
        var catalogue = Catalogue.Value;

        var ps = catalogue.Find("t1059.001");

        Assert.NotNull(ps);
        Assert.Equal("T1059.001", ps.ExternalId);
        Assert.Equal("PowerShell", ps.Name);
        Assert.True(ps.IsSubtechnique);
        Assert.Equal("T1059", ps.ParentId);
        Assert.Contains("Windows", ps.Platforms);
        Assert.Contains(catalogue.TacticsOf(ps), t => t.ShortName == "execution");
        Assert.NotEmpty(catalogue.MitigationsOf(ps));
        Assert.All(catalogue.MitigationsOf(ps), m => Assert.Equal(AttackObjectKind.Mitigation, m.Kind));
    }

    [Fact]
    public void RevokedObjects_ResolveToAnActiveReplacement()
    {
        var catalogue = Catalogue.Value;
        var revoked = catalogue.Techniques.Concat(catalogue.Groups).Concat(catalogue.Software).Where(o => o.Revoked).ToList();

        Assert.NotEmpty(revoked);
        foreach (var o in revoked)
        {
            var replacement = AttackCatalogue.Resolve(o);
            Assert.NotSame(o, replacement);
            Assert.False(replacement.Revoked, $"{o} resolves to revoked {replacement}");
            var resolution = catalogue.ResolveTag("attack." + o.ExternalId.ToLowerInvariant());
            if (ReferenceEquals(catalogue.Find(o.ExternalId), o))
            {
                Assert.Equal(AttackTagStatus.Replaced, resolution.Status);
                Assert.Same(replacement, resolution.Object);
            }
        }
    }

    [Fact]
    public void GroupsAndSoftware_UseTechniques()
    {
        var catalogue = Catalogue.Value;
        var group = catalogue.Groups.First(g => g.IsActive && catalogue.UsedBy(g).Count > 0);

        Assert.Contains(catalogue.UsedBy(group), o => o.Kind == AttackObjectKind.Technique);
        Assert.All(catalogue.Software, s => Assert.Contains(s.SoftwareType, new[] { "malware", "tool" }));
    }

    [Theory]
    [InlineData("attack.t1059.001", AttackObjectKind.Technique, "T1059.001")]
    [InlineData("attack.T1059", AttackObjectKind.Technique, "T1059")]
    [InlineData("attack.execution", AttackObjectKind.Tactic, "TA0002")]
    [InlineData("attack.command_and_control", AttackObjectKind.Tactic, "TA0011")]
    [InlineData("attack.ta0002", AttackObjectKind.Tactic, "TA0002")]
    [InlineData("attack.g0016", AttackObjectKind.Group, "G0016")]
    [InlineData("attack.s0002", AttackObjectKind.Software, "S0002")]
    public void SigmaTags_Resolve(string tag, AttackObjectKind kind, string id)
    {
        var resolution = Catalogue.Value.ResolveTag(tag);

        Assert.Equal(AttackTagStatus.Resolved, resolution.Status);
        Assert.Equal(kind, resolution.Object!.Kind);
        Assert.Equal(id, resolution.Object.ExternalId);
    }

    [Theory]
    [InlineData("attack.t9999", "No technique with the id T9999")]
    [InlineData("attack.not-a-tactic", "No tactic with the short name 'not-a-tactic'")]
    [InlineData("attack.ds0005", "data sources")]
    public void UnknownTags_AreReportedWithAReason(string tag, string reason)
    {
        var resolution = Catalogue.Value.ResolveTag(tag);

        Assert.Equal(AttackTagStatus.Unknown, resolution.Status);
        Assert.Null(resolution.Object);
        Assert.Contains(reason, resolution.Reason, StringComparison.Ordinal);
        Assert.Equal(AttackTagStatus.NotAttack, Catalogue.Value.ResolveTag("cve.2021-44228").Status);
    }

    [Fact]
    public void EverySigmaRuleTag_ResolvesOrIsReported()
    {
        var catalogue = Catalogue.Value;
        var uses = 0;
        var resolved = 0;
        var unresolved = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byStatus = new Dictionary<AttackTagStatus, int>();
        foreach (var file in Directory.EnumerateFiles(TestData.Path("sigma", "rules"), "*.yml", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadLines(file))
            {
                var match = TagLine().Match(line);
                if (!match.Success)
                {
                    continue;
                }

                uses++;
                var resolution = catalogue.ResolveTag(match.Groups[1].Value);
                byStatus[resolution.Status] = byStatus.GetValueOrDefault(resolution.Status) + 1;
                Assert.NotEqual(AttackTagStatus.NotAttack, resolution.Status);
                if (resolution.IsKnown)
                {
                    resolved++;
                    Assert.True(resolution.Object!.IsActive || resolution.Status == AttackTagStatus.Deprecated);
                }
                else
                {
                    Assert.False(string.IsNullOrEmpty(resolution.Reason));
                    var key = match.Groups[1].Value.ToLowerInvariant();
                    unresolved[key] = unresolved.GetValueOrDefault(key) + 1;
                }
            }
        }

        var report = new StringBuilder()
            .AppendLine($"Sigma attack.* tag uses: {uses}; resolved {resolved}; unresolved {uses - resolved} ({unresolved.Count} distinct)")
            .AppendLine("by status: " + string.Join(", ", byStatus.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")))
            .AppendLine("unresolved: " + string.Join(", ", unresolved.Select(p => $"{p.Key} ({p.Value})")))
            .ToString();
        TestContext.Current.SendDiagnosticMessage(report);
        Console.WriteLine(report);
        Assert.True(uses > 0);
        Assert.True(resolved > uses / 2, report);
        Assert.All(unresolved.Keys.Where(k => k.Length > 8 && k[7] is 'g' or 's' && char.IsAsciiDigit(k[8])), k => Assert.Fail("group/software tag not resolved: " + k));
    }

    [Fact]
    public void ReleaseVersion_ComesFromTheCollectionObject_OrIsUnknown()
    {
        const string Tactic = "{\"type\":\"x-mitre-tactic\",\"id\":\"x-mitre-tactic--1\",\"name\":\"Execution\",\"x_mitre_shortname\":\"execution\",\"external_references\":[{\"source_name\":\"mitre-attack\",\"external_id\":\"TA0002\"}]}";
        var withCollection = "{\"type\":\"bundle\",\"objects\":[{\"type\":\"x-mitre-collection\",\"id\":\"x-mitre-collection--1\",\"name\":\"Enterprise ATT&CK\",\"x_mitre_version\":\"17.1\"}," + Tactic + "]}";
        var catalogue = AttackCatalogue.Load(new MemoryStream(Encoding.UTF8.GetBytes(withCollection)));
        Assert.Equal("17.1", catalogue.ReleaseVersion);
        Assert.NotNull(catalogue.Find("TA0002"));
        Assert.Null(AttackCatalogue.Load(new MemoryStream(Encoding.UTF8.GetBytes("{\"type\":\"bundle\",\"objects\":[" + Tactic + "]}"))).ReleaseVersion);
    }

    [Fact]
    public void BadInput_IsRejectedWithTheDocumentedException()
    {
        Assert.Throws<AttackCatalogueException>(() => AttackCatalogue.Load(new MemoryStream("{\"type\":\"bundle\",\"objects\":[{\"type\":"u8.ToArray())));
        Assert.Throws<AttackCatalogueException>(() => AttackCatalogue.Load(new MemoryStream("{\"type\":\"campaign\"}"u8.ToArray())));
        Assert.Throws<AttackCatalogueException>(() => AttackCatalogue.Load(new MemoryStream("not json"u8.ToArray())));
        var big = "{\"type\":\"bundle\",\"objects\":[{\"type\":\"malware\",\"name\":\"" + new string('x', 300_000) + "\"}]}";
        var ex = Assert.Throws<AttackCatalogueException>(() => AttackCatalogue.Load(new MemoryStream(Encoding.UTF8.GetBytes(big)), new AttackCatalogueOptions { MaxObjectBytes = 100_000 }));
        Assert.Contains("larger than the limit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SmallBundleWithTinyReads_LoadsTheSameAsOneRead()
    {
        var bundle = """
            {"type":"bundle","id":"bundle--1","objects":[
              {"type":"x-mitre-tactic","id":"x-mitre-tactic--1","name":"Execution","x_mitre_shortname":"execution","external_references":[{"source_name":"mitre-attack","external_id":"TA0002"}]},
              {"type":"attack-pattern","id":"attack-pattern--old","name":"Old","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":"T1000"}]},
              {"type":"attack-pattern","id":"attack-pattern--new","name":"New","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}],"external_references":[{"source_name":"mitre-attack","external_id":"T2000"}]},
              {"type":"relationship","id":"relationship--1","relationship_type":"revoked-by","source_ref":"attack-pattern--old","target_ref":"attack-pattern--new"},
              {"type":"relationship","id":"relationship--2","relationship_type":"uses","source_ref":"campaign--missing","target_ref":"attack-pattern--new"}
            ]}
            """;

        var catalogue = AttackCatalogue.Load(new OneByteStream(Encoding.UTF8.GetBytes(bundle)));

        var resolution = catalogue.ResolveTag("attack.t1000");
        Assert.Equal(AttackTagStatus.Replaced, resolution.Status);
        Assert.Equal("T2000", resolution.Object!.ExternalId);
        Assert.Equal("TA0002", catalogue.TacticsOf(resolution.Object).Single().ExternalId);
    }

    [GeneratedRegex(@"^\s*-\s*['""]?(attack\.[A-Za-z0-9._-]+)['""]?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex TagLine();

    [GeneratedRegex(@"^T[0-9]{4}(\.[0-9]{3})?$", RegexOptions.CultureInvariant)]
    private static partial Regex TechniqueId();

    private sealed class OneByteStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));
    }
}
