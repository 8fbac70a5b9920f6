using System.Text;
using McpSecurity.Testing;
using McpSecurity.Vulnerabilities.Advisories;
using McpSecurity.Vulnerabilities.Cvss;

namespace McpSecurity.Vulnerabilities.Tests.Advisories;

public sealed class FeedImporterTests
{
    [Fact]
    public void KEV_JSON_is_read_with_dates_and_CWEs()
    {
        var kev = KevImporter.ReadFile(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json"));
        Assert.False(string.IsNullOrEmpty(kev.Title));
        Assert.NotNull(kev.CatalogVersion);
        Assert.NotNull(kev.DateReleased);
        Assert.NotEmpty(kev.Entries);
        Assert.All(kev.Entries, e =>
        {
            Assert.Matches("^CVE-[0-9]{4}-[0-9]{4,}$", e.CveId);
            Assert.NotNull(e.DateAdded);
            Assert.True(e.DueDate is null || e.DueDate.Value.Year >= 2020);
            Assert.All(e.Cwes, c => Assert.StartsWith("CWE-", c, StringComparison.Ordinal));
        });
        Assert.Contains(kev.Entries, e => e.Cwes.Count == 0);
        Assert.Contains(kev.Entries, e => e.Cwes.Count > 1);
        Assert.Contains(kev.Entries, e => e.KnownRansomwareCampaignUse);
        Assert.Contains(kev.Entries, e => !e.KnownRansomwareCampaignUse);
        var first = kev.Entries[0];
        Assert.Same(first, kev.Find(first.CveId.ToLowerInvariant()));
    }

    [Fact]
    public void KEV_CSV_gives_the_same_entries_as_the_JSON()
    {
        var json = KevImporter.ReadFile(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.json"));
        var csv = KevImporter.ReadFile(TestData.Path("vuln", "kev", "known_exploited_vulnerabilities.csv"));
        Assert.NotEmpty(csv.Entries);
        Assert.Contains(csv.Entries, e => e.ShortDescription!.Any(c => c > 127));
        foreach (var c in csv.Entries)
        {
            var j = json.Find(c.CveId);
            Assert.NotNull(j);
            Assert.Equal(j.VendorProject, c.VendorProject);
            Assert.Equal(j.ShortDescription, c.ShortDescription);
            Assert.Equal(j.Notes, c.Notes);
            Assert.Equal(j.DateAdded, c.DateAdded);
            Assert.Equal(j.DueDate, c.DueDate);
            Assert.Equal(j.KnownRansomwareCampaignUse, c.KnownRansomwareCampaignUse);
            Assert.Equal(j.Cwes, c.Cwes);
        }
    }

    [Fact]
    public void KEV_CSV_errors_name_the_line()
    {
        var text = "cveID,vendorProject,product,vulnerabilityName,dateAdded\nCVE-2020-1,a,b,c,2020-01-01\nCVE-2020-2,a,b,c,01/02/2020\n";
        var ex = Assert.Throws<AdvisoryFormatException>(() => KevImporter.ParseCsv(text, "kev.csv"));
        Assert.StartsWith("kev.csv: line 3: dateAdded '01/02/2020'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EPSS_CSV_is_read_with_its_model_header()
    {
        const string text = "#model_version:v2023.03.01,score_date:2023-03-14T00:00:00+0000\ncve,epss,percentile\nCVE-1999-0001,0.01141,0.77\nCVE-2021-44228,0.97565,0.99996\n";
        var epss = EpssImporter.Read(new StringReader(text), "epss.csv");
        Assert.Equal("v2023.03.01", epss.ModelVersion);
        Assert.Equal(new DateTimeOffset(2023, 3, 14, 0, 0, 0, TimeSpan.Zero), epss.ScoreDate);
        Assert.Equal(2, epss.Count);
        Assert.True(epss.TryFind("cve-2021-44228", out var log4shell));
        Assert.Equal(0.97565, log4shell.Probability);
        Assert.Equal(0.99996, log4shell.Percentile);
        Assert.False(epss.TryFind("CVE-2000-0001", out _));
    }

    [Theory]
    [InlineData("cve,epss,percentile\nCVE-1,1.5,0.2\n", "epss.csv: line 2: epss '1.5' is not a number between 0 and 1")]
    [InlineData("cve,epss,percentile\nGHSA-1,0.5,0.2\n", "epss.csv: line 2: 'GHSA-1' is not a CVE id")]
    [InlineData("a,b\n", "epss.csv: line 1: expected a header row")]
    public void EPSS_errors_name_the_line(string text, string message)
    {
        var ex = Assert.Throws<AdvisoryFormatException>(() => EpssImporter.Read(new StringReader(text), "epss.csv"));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NVD_API_2_response_maps_into_the_OSV_model_with_CPE_configurations()
    {
        var records = NvdImporter.Parse(Encoding.UTF8.GetBytes(NvdSample), "nvd.json");
        var record = Assert.Single(records);
        var advisory = record.Advisory;
        Assert.Equal("CVE-2021-44228", advisory.Id);
        Assert.Equal(new DateTimeOffset(2021, 12, 10, 10, 15, 9, 143, TimeSpan.Zero), advisory.Published);
        Assert.StartsWith("Apache Log4j2", advisory.Details, StringComparison.Ordinal);
        Assert.False(advisory.IsWithdrawn);
        var severity = Assert.Single(advisory.Severity, s => s.Type == "CVSS_V3");
        Assert.Equal(10.0m, CvssCalculator.Parse(severity.Score).Score);
        Assert.Contains(advisory.Severity, s => s.Type == "CVSS_V2" && !s.Score.StartsWith("CVSS:", StringComparison.Ordinal));
        Assert.Equal(["CWE-502", "CWE-400"], record.Cwes);
        Assert.Equal(3, record.Metrics.Count);
        var match = Assert.Single(Assert.Single(Assert.Single(record.Configurations).Nodes).CpeMatches);
        Assert.True(match.Vulnerable);
        Assert.Equal("2.0.1", match.VersionStartIncluding);
        Assert.Equal("2.3.1", match.VersionEndExcluding);
        Assert.Contains(advisory.References, r => r.Type == "ADVISORY");
    }

    [Fact]
    public void NVD_rejected_CVE_is_withdrawn()
    {
        var json = """{"vulnerabilities":[{"cve":{"id":"CVE-2020-0001","published":"2020-01-01T00:00:00.000","lastModified":"2020-02-01T00:00:00.000","vulnStatus":"Rejected","descriptions":[{"lang":"en","value":"Rejected reason: duplicate"}]}}]}""";
        var record = Assert.Single(NvdImporter.Parse(Encoding.UTF8.GetBytes(json), "nvd.json"));
        Assert.True(record.Advisory.IsWithdrawn);
    }

    [Fact]
    public void NVD_errors_name_the_JSON_path()
    {
        var json = """{"vulnerabilities":[{"cve":{"id":"CVE-1","metrics":{"cvssMetricV31":[{"cvssData":{}}]}}}]}""";
        var ex = Assert.Throws<AdvisoryFormatException>(() => NvdImporter.Parse(Encoding.UTF8.GetBytes(json), "nvd.json"));
        Assert.StartsWith("nvd.json: $.vulnerabilities[0].cve.metrics.cvssMetricV31[0].cvssData.vectorString", ex.Message, StringComparison.Ordinal);
    }

    private const string NvdSample = """
        {
          "resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
          "timestamp": "2024-01-01T00:00:00.000",
          "vulnerabilities": [{
            "cve": {
              "id": "CVE-2021-44228",
              "sourceIdentifier": "security@apache.org",
              "published": "2021-12-10T10:15:09.143",
              "lastModified": "2023-11-07T03:39:36.747",
              "vulnStatus": "Modified",
              "descriptions": [
                {"lang": "es", "value": "Apache Log4j2 (es)"},
                {"lang": "en", "value": "Apache Log4j2 2.0-beta9 through 2.15.0 JNDI features do not protect against attacker controlled LDAP endpoints."}
              ],
              "metrics": {
                "cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                  "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "baseScore": 10.0, "baseSeverity": "CRITICAL"},
                  "exploitabilityScore": 3.9, "impactScore": 6.0},
                  {"source": "security@apache.org", "type": "Secondary",
                  "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", "baseScore": 9.0}}],
                "cvssMetricV2": [{"source": "nvd@nist.gov", "type": "Primary",
                  "cvssData": {"version": "2.0", "vectorString": "AV:N/AC:M/Au:N/C:C/I:C/A:C", "baseScore": 9.3}}]
              },
              "weaknesses": [
                {"source": "security@apache.org", "type": "Primary", "description": [{"lang": "en", "value": "CWE-502"}, {"lang": "en", "value": "CWE-400"}]},
                {"source": "nvd@nist.gov", "type": "Secondary", "description": [{"lang": "en", "value": "CWE-502"}]}
              ],
              "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [
                {"vulnerable": true, "criteria": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*", "versionStartIncluding": "2.0.1", "versionEndExcluding": "2.3.1", "matchCriteriaId": "03FA5E7E-0000-0000-0000-000000000000"}
              ]}]}],
              "references": [
                {"url": "https://logging.apache.org/log4j/2.x/security.html", "source": "security@apache.org", "tags": ["Release Notes", "Vendor Advisory"]},
                {"url": "https://example.org/patch", "source": "security@apache.org", "tags": ["Patch"]}
              ]
            }
          }]
        }
        """;
}
