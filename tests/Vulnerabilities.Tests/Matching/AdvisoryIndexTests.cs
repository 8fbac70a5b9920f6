using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Cvss;
using McpSecurity.Vulnerabilities.Matching;
using McpSecurity.Vulnerabilities.Purl;
using McpSecurity.Vulnerabilities.Versions;

namespace McpSecurity.Vulnerabilities.Tests.Matching;

public sealed class AdvisoryIndexTests
{
    private static readonly Lazy<List<OsvAdvisory>> PyPi = new(() => [.. OsvImporter.ReadDirectory(TestData.Path("vuln", "osv", "pypi")).Advisories]);
    private static readonly Lazy<List<OsvAdvisory>> Go = new(() => [.. OsvImporter.ReadDirectory(TestData.Path("vuln", "osv", "go")).Advisories]);
    private static readonly Lazy<KevCatalog> Kev = new(() => KevImporter.ReadFile(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json")));
    private static readonly Lazy<AdvisoryIndex> Index = new(() => AdvisoryIndex.Build([.. PyPi.Value, .. Go.Value], Kev.Value));

    [Fact]
    public void Every_explicitly_listed_PyPI_version_matches_its_advisory()
    {
        var checks = 0;
        var failures = new List<string>();
        foreach (var advisory in PyPi.Value.Where(a => !a.IsWithdrawn))
        {
            foreach (var affected in advisory.Affected)
            {
                // The first, middle and last listed versions of each entry; all of them would be quadratic.
                var sample = affected.Versions.Count <= 3 ? affected.Versions : [affected.Versions[0], affected.Versions[affected.Versions.Count / 2], affected.Versions[^1]];
                foreach (var version in sample)
                {
                    checks++;
                    if (!Matches(advisory.Id, "PyPI", affected.Package!.Name, version))
                    {
                        failures.Add($"{advisory.Id} {affected.Package.Name} {version}");
                    }
                }
            }
        }

        Assert.True(checks > 1000);
        Assert.True(failures.Count == 0, $"{failures.Count}/{checks}: {string.Join("; ", failures.Take(20))}");
    }

    [Fact]
    public void Introduced_versions_match_and_fixed_versions_do_not()
    {
        var inside = 0;
        var outside = 0;
        var failures = new List<string>();
        foreach (var (advisory, ecosystem) in PyPi.Value.Select(a => (a, "PyPI")).Concat(Go.Value.Select(a => (a, "Go"))))
        {
            if (advisory.IsWithdrawn)
            {
                continue;
            }

            foreach (var affected in advisory.Affected)
            {
                var name = affected.Package!.Name;
                var sameName = advisory.Affected.Count(x => x.Package?.Name == name);
                var evaluable = affected.Ranges.Where(r => r.Type is OsvRangeType.Semver or OsvRangeType.Ecosystem).ToList();
                foreach (var range in evaluable)
                {
                    foreach (var e in range.Events.Where(e => e.Kind == OsvEventKind.Introduced && e.Version != "0"))
                    {
                        inside++;
                        if (!Matches(advisory.Id, ecosystem, name, e.Version))
                        {
                            failures.Add($"{advisory.Id} {name}: introduced {e.Version} should match");
                        }
                    }
                }

                // A fixed version is outside when it is the only range, the range is one interval and the version is not listed.
                if (evaluable.Count == 1 && sameName == 1 && evaluable[0].Events.Count == 2
                    && evaluable[0].Events[1] is { Kind: OsvEventKind.Fixed } fix && !affected.Versions.Contains(fix.Version))
                {
                    outside++;
                    if (Matches(advisory.Id, ecosystem, name, fix.Version))
                    {
                        failures.Add($"{advisory.Id} {name}: fixed {fix.Version} should not match");
                    }
                }
            }
        }

        Assert.True(inside > 500 && outside > 500, $"{inside} inside, {outside} outside");
        Assert.True(failures.Count == 0, $"{failures.Count} failures: {string.Join("; ", failures.Take(20))}");
    }

    [Fact]
    public void Go_versions_just_below_each_fix_match_and_carry_the_fix()
    {
        var semver = VersionSchemes.For("Go");
        var checks = 0;
        foreach (var advisory in Go.Value.Where(a => !a.IsWithdrawn))
        {
            foreach (var affected in advisory.Affected)
            {
                foreach (var range in affected.Ranges)
                {
                    string? opened = null;
                    foreach (var e in range.Events)
                    {
                        if (e.Kind == OsvEventKind.Introduced)
                        {
                            opened = e.Version;
                        }
                        else if (e.Kind == OsvEventKind.Fixed && opened is not null && !e.Version.Contains('-', StringComparison.Ordinal) && !e.Version.Contains('+', StringComparison.Ordinal))
                        {
                            var below = e.Version + "-0";
                            if (opened == "0" || semver.Compare(opened, below) <= 0)
                            {
                                checks++;
                                var finding = FindingFor(advisory.Id, "Go", affected.Package!.Name, "v" + below);
                                Assert.True(finding is not null, $"{advisory.Id} {affected.Package.Name} v{below}");
                                Assert.Contains(e.Version, finding.FixedVersions);
                                var why = Assert.Single(finding.Explanations, x => x.AdvisoryId == advisory.Id && e.Equals(x.ClosedBy));
                                Assert.Equal(MatchReason.Range, why.Reason);
                                Assert.Equal(OsvRangeType.Semver, why.RangeType);
                                Assert.Equal("SemVer", why.Scheme);
                                Assert.Contains(advisory.Id, why.Text, StringComparison.Ordinal);
                            }

                            opened = null;
                        }
                    }
                }
            }
        }

        Assert.True(checks > 500, $"{checks} checks");
    }

    [Fact]
    public void Go_stdlib_prerelease_floors_include_release_candidates()
    {
        var semver = VersionSchemes.For("Go");
        var checks = 0;
        foreach (var advisory in Go.Value.Where(a => !a.IsWithdrawn))
        {
            var stdlib = advisory.Affected.Where(x => x.Package!.Name == "stdlib").ToList();
            foreach (var affected in stdlib)
            {
                var events = affected.Ranges.Single().Events;
                for (var i = 0; i + 1 < events.Count; i++)
                {
                    if (events[i] is { Kind: OsvEventKind.Introduced } intro && intro.Version.EndsWith(".0-0", StringComparison.Ordinal)
                        && events[i + 1] is { Kind: OsvEventKind.Fixed } fix)
                    {
                        var release = intro.Version[..^2];
                        var rc = release + "-rc1";
                        if (semver.Compare(rc, fix.Version) >= 0)
                        {
                            continue;
                        }

                        checks++;
                        var purl = PackageUrl.Parse($"pkg:golang/stdlib@go{rc}");
                        Assert.Contains(Index.Value.Match(purl).Findings, f => f.AdvisoryIds.Contains(advisory.Id));
                        Assert.True(Matches(advisory.Id, "Go", "stdlib", "go" + release));
                        if (stdlib.Count == 1)
                        {
                            Assert.False(Matches(advisory.Id, "Go", "stdlib", fix.Version) && !InAnyInterval(events, fix.Version, semver), $"{advisory.Id} {fix.Version}");
                        }
                    }
                }
            }
        }

        Assert.True(checks > 20, $"{checks} checks");
    }

    [Fact]
    public void Withdrawn_advisories_never_match()
    {
        var withdrawn = PyPi.Value.Concat(Go.Value).Where(a => a.IsWithdrawn).ToList();
        Assert.NotEmpty(withdrawn);
        Assert.True(Index.Value.WithdrawnCount >= withdrawn.Count);
        foreach (var advisory in withdrawn)
        {
            foreach (var affected in advisory.Affected)
            {
                var candidates = affected.Versions
                    .Concat(affected.Ranges.SelectMany(r => r.Events).Where(e => e.Kind == OsvEventKind.Introduced && e.Version != "0").Select(e => e.Version));
                foreach (var version in candidates)
                {
                    var result = Index.Value.Match(affected.Package!.Ecosystem, affected.Package.Name, version);
                    Assert.DoesNotContain(result.Findings, f => f.AdvisoryIds.Contains(advisory.Id));
                }
            }
        }
    }

    [Fact]
    public void PyPI_names_are_normalised_per_PEP_503()
    {
        var advisory = PyPi.Value.First(a => !a.IsWithdrawn && a.Affected.Any(x => x.Package!.Name.Contains('-', StringComparison.Ordinal) && x.Versions.Count > 0));
        var affected = advisory.Affected.First(x => x.Package!.Name.Contains('-', StringComparison.Ordinal) && x.Versions.Count > 0);
        var name = affected.Package!.Name;
        var version = affected.Versions[0];
        foreach (var variant in new[] { name, name.ToUpperInvariant(), name.Replace("-", "_", StringComparison.Ordinal), name.Replace("-", "._-", StringComparison.Ordinal) })
        {
            Assert.True(Matches(advisory.Id, "pypi", variant, version), variant);
        }

        Assert.Contains(Index.Value.Match(PackageUrl.Parse($"pkg:pypi/{name.Replace("-", "_", StringComparison.Ordinal)}@{version}")).Findings, f => f.AdvisoryIds.Contains(advisory.Id));
    }

    [Fact]
    public void Go_module_names_are_case_sensitive()
    {
        var advisory = Go.Value.First(a => !a.IsWithdrawn && a.Affected.Any(x => x.Package!.Name.StartsWith("github.com/", StringComparison.Ordinal) && x.Ranges.Any(r => r.Events.Any(e => e.Kind == OsvEventKind.Introduced && e.Version != "0"))));
        var affected = advisory.Affected.First(x => x.Package!.Name.StartsWith("github.com/", StringComparison.Ordinal));
        var version = affected.Ranges.SelectMany(r => r.Events).FirstOrDefault(e => e.Kind == OsvEventKind.Introduced && e.Version != "0")?.Version;
        if (version is null)
        {
            return;
        }

        Assert.True(Matches(advisory.Id, "Go", affected.Package!.Name, version));
        Assert.False(Matches(advisory.Id, "Go", affected.Package.Name.ToUpperInvariant(), version));
        var slash = affected.Package.Name.LastIndexOf('/');
        var purl = PackageUrl.Parse($"pkg:golang/{affected.Package.Name[..slash]}/{affected.Package.Name[(slash + 1)..]}@v{version}");
        Assert.Contains(Index.Value.Match(purl).Findings, f => f.AdvisoryIds.Contains(advisory.Id));
    }

    [Fact]
    public void Advisories_linked_by_aliases_give_one_finding_with_the_CVE_id()
    {
        // Real PyPI advisories that share a CVE alias and affect the same package.
        var group = PyPi.Value.Where(a => !a.IsWithdrawn)
            .SelectMany(a => a.Aliases.Where(x => x.StartsWith("CVE-", StringComparison.Ordinal)).Select(cve => (cve, a)))
            .GroupBy(x => x.cve)
            .Select(g => g.Select(x => x.a).ToList())
            .First(list => list.Count > 1 && list.Select(a => a.Affected[0].Package!.Name).Distinct().Count() == 1
                && list.All(a => a.Affected[0].Versions.Count > 0) && list.Select(a => a.Affected[0].Versions[0]).Distinct().Count() == 1);
        var name = group[0].Affected[0].Package!.Name;
        var version = group[0].Affected[0].Versions[0];
        var findings = Index.Value.Match("PyPI", name, version).Findings.Where(f => group.Any(a => f.AdvisoryIds.Contains(a.Id))).ToList();
        var finding = Assert.Single(findings);
        Assert.StartsWith("CVE-", finding.VulnerabilityId, StringComparison.Ordinal);
        Assert.All(group, a => Assert.Contains(a.Id, finding.AdvisoryIds));
        Assert.All(group, a => Assert.Contains(a.Id, finding.Aliases));
        Assert.Equal(finding.AdvisoryIds.Count, finding.Explanations.Count);
    }

    [Fact]
    public void A_GHSA_copy_of_a_real_advisory_merges_into_the_same_finding()
    {
        var original = PyPi.Value.First(a => !a.IsWithdrawn && a.Aliases.Any(x => x.StartsWith("CVE-", StringComparison.Ordinal)) && a.Affected.Count == 1 && a.Affected[0].Versions.Count > 0);
        var copy = new OsvAdvisory { Id = "GHSA-test-copy-0001", Aliases = [.. original.Aliases], Affected = original.Affected, Summary = "copy" };
        var index = AdvisoryIndex.Build([original, copy]);
        var result = index.Match("PyPI", original.Affected[0].Package!.Name, original.Affected[0].Versions[0]);
        var finding = Assert.Single(result.Findings);
        Assert.Equal(original.Aliases.Where(x => x.StartsWith("CVE-", StringComparison.Ordinal)).Min(StringComparer.Ordinal), finding.VulnerabilityId);
        Assert.Equal(new[] { copy.Id, original.Id }.Order(StringComparer.Ordinal), finding.AdvisoryIds.Order(StringComparer.Ordinal));
        Assert.NotNull(finding.Summary);
        Assert.Equal(2, finding.Explanations.Count);
    }

    [Fact]
    public void Severity_comes_from_the_advisory_CVSS_vector()
    {
        var advisory = PyPi.Value.First(a => !a.IsWithdrawn && a.Severity.Any(s => s.Type == "CVSS_V3") && a.Affected.Any(x => x.Versions.Count > 0));
        var affected = advisory.Affected.First(x => x.Versions.Count > 0);
        var finding = FindingFor(advisory.Id, "PyPI", affected.Package!.Name, affected.Versions[^1]);
        Assert.NotNull(finding);
        var expected = CvssCalculator.Parse(advisory.Severity.First(s => s.Type == "CVSS_V3").Score);
        Assert.NotNull(finding.Cvss);
        Assert.True(string.CompareOrdinal(finding.Cvss.Version, "3.0") >= 0);
        Assert.True(finding.Cvss.Score >= expected.Score || finding.Cvss.Version != expected.Version);
        Assert.Contains(finding.Severity, new[] { "None", "Low", "Medium", "High", "Critical" });
    }

    [Fact]
    public void Without_CVSS_the_severity_is_unknown()
    {
        var advisory = Go.Value.First(a => !a.IsWithdrawn && a.Severity.Count == 0 && a.Affected[0].Ranges[0].Events.Any(e => e.Kind == OsvEventKind.Introduced && e.Version != "0"));
        var version = advisory.Affected[0].Ranges[0].Events.First(e => e.Kind == OsvEventKind.Introduced && e.Version != "0").Version;
        var finding = FindingFor(advisory.Id, "Go", advisory.Affected[0].Package!.Name, version);
        Assert.NotNull(finding);
        Assert.Null(finding.Cvss);
        Assert.Equal("Unknown", finding.Severity);
    }

    [Fact]
    public void KEV_entries_attach_by_CVE_alias()
    {
        var kev = Kev.Value;
        var advisory = PyPi.Value.First(a => !a.IsWithdrawn && a.Aliases.Any(x => kev.Find(x) is not null) && a.Affected.Any(x => x.Versions.Count > 0));
        var affected = advisory.Affected.First(x => x.Versions.Count > 0);
        var finding = FindingFor(advisory.Id, "PyPI", affected.Package!.Name, affected.Versions[0]);
        Assert.NotNull(finding);
        Assert.NotNull(finding.Kev);
        Assert.Contains(finding.Kev.CveId, finding.Aliases);
    }

    [Fact]
    public void EPSS_attaches_by_CVE_and_takes_the_highest()
    {
        var original = PyPi.Value.First(a => !a.IsWithdrawn && a.Aliases.Count(x => x.StartsWith("CVE-", StringComparison.Ordinal)) == 1 && a.Affected.Count == 1 && a.Affected[0].Versions.Count > 0);
        var cve = original.Aliases.Single(x => x.StartsWith("CVE-", StringComparison.Ordinal));
        var epss = EpssImporter.Read(new StringReader($"cve,epss,percentile\n{cve},0.5,0.9\nCVE-1999-0001,0.9,0.99\n"), "epss.csv");
        var index = AdvisoryIndex.Build([original], epss: epss);
        var finding = Assert.Single(index.Match("PyPI", original.Affected[0].Package!.Name, original.Affected[0].Versions[0]).Findings);
        Assert.Equal(0.5, finding.Epss!.Value.Probability);
        Assert.Null(finding.Kev);
    }

    [Fact]
    public void Last_affected_is_inclusive()
    {
        var advisory = PyPi.Value.First(a => a.Affected.Any(x => x.Ranges.Any(r => r.Events.Any(e => e.Kind == OsvEventKind.LastAffected))));
        var affected = advisory.Affected.First(x => x.Ranges.Any(r => r.Events.Any(e => e.Kind == OsvEventKind.LastAffected)));
        var last = affected.Ranges.SelectMany(r => r.Events).First(e => e.Kind == OsvEventKind.LastAffected);
        var finding = FindingFor(advisory.Id, "PyPI", affected.Package!.Name, last.Version);
        Assert.NotNull(finding);
        var index = AdvisoryIndex.Build([Synthetic("X-1", "PyPI", "demo", [new(OsvEventKind.Introduced, "1.0"), new(OsvEventKind.LastAffected, "1.4")])]);
        Assert.Single(index.Match("PyPI", "demo", "1.4").Findings);
        Assert.Empty(index.Match("PyPI", "demo", "1.4.post1").Findings);
        Assert.Empty(index.Match("PyPI", "demo", "0.9").Findings);
        var closed = index.Match("PyPI", "demo", "1.2").Findings[0].Explanations[0].ClosedBy;
        Assert.Equal(OsvEventKind.LastAffected, closed!.Kind);
    }

    [Fact]
    public void Events_out_of_order_and_limits_are_evaluated_as_OSV_says()
    {
        var advisory = Synthetic("X-2", "npm", "left-pad", [
            new(OsvEventKind.Fixed, "2.0.0"), new(OsvEventKind.Introduced, "1.5.0"), new(OsvEventKind.Introduced, "0"),
            new(OsvEventKind.Fixed, "1.0.0"), new(OsvEventKind.Limit, "1.9.0")]);
        var index = AdvisoryIndex.Build([advisory]);
        Assert.Single(index.Match("npm", "left-pad", "0.9.0").Findings);
        Assert.Empty(index.Match("npm", "left-pad", "1.0.0").Findings);
        Assert.Empty(index.Match("npm", "left-pad", "1.4.9").Findings);
        Assert.Single(index.Match("npm", "left-pad", "1.5.0").Findings);
        Assert.Empty(index.Match("npm", "left-pad", "1.9.0").Findings);
        Assert.Empty(index.Match("npm", "Left-Pad", "0.9.0").Findings);
        var finding = index.Match(PackageUrl.Parse("pkg:npm/left-pad@0.1.0")).Findings.Single();
        Assert.Equal(["1.0.0"], finding.FixedVersions);
    }

    [Fact]
    public void Git_only_ranges_are_not_applicable()
    {
        var advisory = new OsvAdvisory
        {
            Id = "X-3",
            Affected = [new OsvAffected
            {
                Package = new OsvPackage("PyPI", "demo", null),
                Ranges = [new OsvRange { Type = OsvRangeType.Git, TypeName = "GIT", Repo = "https://example.org/r", Events = [new(OsvEventKind.Introduced, "abc"), new(OsvEventKind.Fixed, "def")] }],
            }],
        };
        var result = AdvisoryIndex.Build([advisory]).Match("PyPI", "demo", "1.0");
        Assert.Empty(result.Findings);
        var na = Assert.Single(result.NotApplicable);
        Assert.Equal("X-3", na.AdvisoryId);
        Assert.Contains("GIT", na.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core")]
    [InlineData("pkg:nuget/Newtonsoft.Json@12.0.1", "NuGet", "newtonsoft.json")]
    [InlineData("pkg:gem/rails@6.0.0", "RubyGems", "rails")]
    [InlineData("pkg:cargo/tokio_util@0.7.0", "crates.io", "tokio-util")]
    [InlineData("pkg:composer/laravel/framework@8.0.0", "Packagist", "laravel/framework")]
    [InlineData("pkg:hex/plug@1.0.0", "Hex", "plug")]
    [InlineData("pkg:pub/http@0.13.0", "Pub", "http")]
    [InlineData("pkg:deb/debian/openssl@1.1.1n-0+deb11u3", "Debian", "openssl")]
    [InlineData("pkg:deb/ubuntu/openssl@1.1.1f-1ubuntu2", "Ubuntu", "openssl")]
    [InlineData("pkg:rpm/redhat/openssl@1.1.1k-5.el8", "Red Hat", "openssl")]
    [InlineData("pkg:apk/alpine/openssl@3.1.0-r0", "Alpine", "openssl")]
    [InlineData("pkg:npm/%40angular/core@12.0.0", "npm", "@angular/core")]
    public void Purl_types_map_to_OSV_ecosystems(string purl, string ecosystem, string name)
    {
        var p = PackageUrl.Parse(purl);
        Assert.Equal(ecosystem, Ecosystems.FromPurl(p));
        var advisory = Synthetic("X-4", ecosystem, name, [new(OsvEventKind.Introduced, "0")]);
        var finding = Assert.Single(AdvisoryIndex.Build([advisory]).Match(p).Findings);
        Assert.Equal(ecosystem, finding.Ecosystem);
    }

    [Fact]
    public void Distribution_release_restricts_matches_when_given()
    {
        var d11 = Synthetic("DSA-1", "Debian:11", "openssl", [new(OsvEventKind.Introduced, "0"), new(OsvEventKind.Fixed, "1.1.1n-0+deb11u4")]);
        var d12 = Synthetic("DSA-2", "Debian:12", "openssl", [new(OsvEventKind.Introduced, "0"), new(OsvEventKind.Fixed, "3.0.9-1")]);
        var index = AdvisoryIndex.Build([d11, d12]);
        Assert.Equal(["DSA-1"], index.Match("Debian:11", "openssl", "1.1.1n-0+deb11u3").Findings.Select(f => f.VulnerabilityId));
        Assert.Equal(2, index.Match("Debian", "openssl", "1.1.1n-0+deb11u3").Findings.Count);
    }

    [Fact]
    public void A_component_without_version_is_not_evaluated()
    {
        var index = AdvisoryIndex.Build([Synthetic("X-5", "npm", "a", [new(OsvEventKind.Introduced, "0")])]);
        var result = index.Match(PackageUrl.Parse("pkg:npm/a"));
        Assert.Empty(result.Findings);
        Assert.Single(result.NotApplicable);
        Assert.Same(MatchResult.Empty, index.Match("npm", "unknown", "1.0.0"));
    }

    [Fact]
    public void Findings_are_one_per_vulnerability_in_id_order_and_MatchAll_agrees_with_single_matches()
    {
        // Every version any real PyPI or Go advisory names, for its package: many packages have several
        // advisories and several clusters, which is what the grouping by cluster has to get right.
        var queries = new List<ComponentQuery>();
        foreach (var advisory in PyPi.Value.Concat(Go.Value).Where(a => !a.IsWithdrawn))
        {
            foreach (var affected in advisory.Affected)
            {
                foreach (var range in affected.Ranges)
                {
                    foreach (var e in range.Events)
                    {
                        if (e.Version != "0" && range.Type != OsvRangeType.Git)
                        {
                            queries.Add(ComponentQuery.Of(affected.Package!.Ecosystem, affected.Package.Name, e.Version));
                        }
                    }
                }
            }
        }

        var all = Index.Value.MatchAll(queries, maxDegreeOfParallelism: 2, TestContext.Current.CancellationToken);
        Assert.Equal(queries.Count, all.Length);
        var several = 0;
        for (var i = 0; i < queries.Count; i++)
        {
            var one = Index.Value.Match(queries[i].Ecosystem!, queries[i].Name!, queries[i].Version!);
            Assert.Equal(one.Findings.Select(Describe), all[i].Findings.Select(Describe));
            Assert.Equal(one.NotApplicable, all[i].NotApplicable);
            for (var f = 1; f < one.Findings.Count; f++)
            {
                several++;
                Assert.True(string.CompareOrdinal(one.Findings[f - 1].VulnerabilityId, one.Findings[f].VulnerabilityId) < 0,
                    $"{queries[i]}: {one.Findings[f - 1].VulnerabilityId} then {one.Findings[f].VulnerabilityId}");
            }

            foreach (var finding in one.Findings)
            {
                // Every advisory of a finding belongs to its alias cluster, and is named once.
                Assert.Equal(finding.AdvisoryIds.Count, finding.AdvisoryIds.Distinct(StringComparer.Ordinal).Count());
                Assert.All(finding.AdvisoryIds, id => Assert.Contains(id, finding.Aliases));
                Assert.All(finding.Explanations, e => Assert.Contains(e.AdvisoryId, finding.AdvisoryIds));
            }
        }

        Assert.True(several > 100, $"{several} components with more than one finding");
    }

    /// <summary>Everything a finding reports, explanations included, as one comparable string.</summary>
    private static string Describe(Finding f) => string.Join(" | ",
        f.VulnerabilityId, string.Join(',', f.Aliases), string.Join(',', f.AdvisoryIds), f.Ecosystem, f.PackageName, f.Version, f.Summary,
        f.Cvss?.Vector, f.Severity, string.Join(',', f.FixedVersions), string.Join(" / ", f.Explanations.Select(e => e.Text + " " + e)), f.Kev?.CveId, f.Epss?.CveId);

    private static bool InAnyInterval(IReadOnlyList<OsvEvent> events, string version, IVersionComparer comparer)
    {
        var affected = false;
        foreach (var e in events)
        {
            if (e.Kind == OsvEventKind.Introduced && (e.Version == "0" || comparer.Compare(version, e.Version) >= 0))
            {
                affected = true;
            }
            else if (e.Kind == OsvEventKind.Fixed && comparer.Compare(version, e.Version) >= 0)
            {
                affected = false;
            }
        }

        return affected;
    }

    private static OsvAdvisory Synthetic(string id, string ecosystem, string name, OsvEvent[] events) => new()
    {
        Id = id,
        Affected = [new OsvAffected
        {
            Package = new OsvPackage(ecosystem, name, null),
            Ranges = [new OsvRange { Type = OsvRangeType.Ecosystem, TypeName = "ECOSYSTEM", Events = events }],
        }],
    };

    private static bool Matches(string advisoryId, string ecosystem, string name, string version) =>
        FindingFor(advisoryId, ecosystem, name, version) is not null;

    private static Finding? FindingFor(string advisoryId, string ecosystem, string name, string version)
    {
        foreach (var f in Index.Value.Match(ecosystem, name, version).Findings)
        {
            if (f.AdvisoryIds.Contains(advisoryId))
            {
                return f;
            }
        }

        return null;
    }
}
