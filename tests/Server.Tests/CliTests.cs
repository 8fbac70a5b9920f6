using McpSecurity.Cli;
using Microsoft.Data.Sqlite;

namespace McpSecurity.Server.Tests;

public sealed class CliTests
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-cli-" + Guid.NewGuid().ToString("N")[..10]);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync([.. args, "--data-dir", _dataDir], output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    private static string KeyIn(string text)
    {
        var i = text.IndexOf("mcpsec_", StringComparison.Ordinal);
        Assert.True(i >= 0, "no key in: " + text);
        var end = i;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }

        return text[i..end];
    }

    [Fact]
    public async Task Init_PrintsOwnerKeyOnce()
    {
        var (code, output, _) = await RunAsync("init");
        Assert.Equal(0, code);
        Assert.StartsWith("mcpsec_", KeyIn(output), StringComparison.Ordinal);
        var (again, output2, _) = await RunAsync("init");
        Assert.Equal(0, again);
        Assert.DoesNotContain("mcpsec_", output2, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dataDir, "mcpsec.db")));
    }

    [Fact]
    public async Task TenantKeyAndUserCommands_WorkEndToEnd()
    {
        await RunAsync("init");
        var (code, output, _) = await RunAsync("tenant", "create", "Blue Team");
        Assert.Equal(0, code);
        KeyIn(output);
        Assert.Equal(1, (await RunAsync("tenant", "create", "blue team")).Code);

        var list = await RunAsync("tenant", "list");
        Assert.Contains("Blue Team", list.Out, StringComparison.Ordinal);

        var key = await RunAsync("apikey", "create", "--tenant", "blue team", "--name", "ci", "--role", "analyst");
        Assert.Equal(0, key.Code);
        var keys = await RunAsync("apikey", "list", "--tenant", "Blue Team");
        Assert.Contains("analyst", keys.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyIn(key.Out), keys.Out, StringComparison.Ordinal);
        var keyId = keys.Out.Split('\n').First(l => l.Contains(" ci ", StringComparison.Ordinal)).Split(' ')[0];
        Assert.Equal(0, (await RunAsync("apikey", "revoke", "--tenant", "Blue Team", keyId)).Code);
        Assert.Contains("revoked", (await RunAsync("apikey", "list", "--tenant", "Blue Team")).Out, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("MCPSEC_PASSWORD", "correct horse battery");
        try
        {
            Assert.Equal(0, (await RunAsync("user", "create", "--tenant", "Blue Team", "--name", "fay", "--role", "viewer")).Code);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MCPSEC_PASSWORD", null);
        }

        var users = await RunAsync("user", "list", "--tenant", "Blue Team");
        var userId = users.Out.Split('\n').First(l => l.Contains("fay", StringComparison.Ordinal)).Split(' ')[0];
        Assert.Equal(0, (await RunAsync("user", "disable", "--tenant", "Blue Team", userId)).Code);
        Assert.Contains("disabled", (await RunAsync("user", "list", "--tenant", "Blue Team")).Out, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync("user", "list", "--tenant", "no-such-tenant")).Code);
    }

    [Fact]
    public async Task AuditVerify_ExitCodeOneAfterTampering()
    {
        await RunAsync("init");
        await RunAsync("tenant", "create", "audited");
        var ok = await RunAsync("audit", "verify");
        Assert.Equal(0, ok.Code);
        Assert.Contains("ok", ok.Out, StringComparison.Ordinal);

        await using (var c = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "mcpsec.db")};Pooling=False"))
        {
            await c.OpenAsync(Ct);
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE audit_log SET action = 'nothing' WHERE seq = 1";
            Assert.True(await cmd.ExecuteNonQueryAsync(Ct) > 0);
        }

        var broken = await RunAsync("audit", "verify");
        Assert.Equal(1, broken.Code);
        Assert.Contains("BROKEN at entry 1", broken.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such-command")]
    [InlineData("serve", "--store", "mongodb")]
    [InlineData("apikey", "create", "--name", "x")]
    [InlineData("apikey", "create", "--tenant", "t", "--name", "x", "--role", "god")]
    public async Task UsageErrors_ExitCodeTwo(params string[] args)
    {
        var (code, _, err) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.Contains("error", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptedDatabase_ClearErrorExitCodeOne()
    {
        Directory.CreateDirectory(_dataDir);
        await File.WriteAllTextAsync(Path.Combine(_dataDir, "mcpsec.db"), new string('#', 10_000), Ct);
        var (code, _, err) = await RunAsync("tenant", "list");
        Assert.Equal(1, code);
        Assert.Contains("mcpsec.db", err, StringComparison.Ordinal);
        Assert.Contains("backup", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_IsAvailableForEveryCommand()
    {
        foreach (var command in CliApp.Build().Subcommands)
        {
            var (code, output, _) = await RunAsync(command.Name, "--help");
            Assert.Equal(0, code);
            Assert.False(string.IsNullOrWhiteSpace(command.Description), command.Name + " has no description");
            Assert.Contains(command.Name, output, StringComparison.Ordinal);
        }
    }
}

public sealed class ModuleCliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error, Ct);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Cvss_OneJsonLinePerVector_InvalidGetsErrorAndRunGoesOn()
    {
        var (code, output, _) = await RunAsync("cvss", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:Q/AC:L", "AV:N/AC:L/Au:N/C:P/I:P/A:P");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal(9.8, lines[0].GetProperty("score").GetDouble());
        Assert.Equal("Critical", lines[0].GetProperty("severity").GetString());
        Assert.Contains("AV", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("2.0", lines[2].GetProperty("version").GetString());
        Assert.Equal(1, code);
    }

    [Fact]
    public async Task BenchSbom_PrintsImportIndexAndMatchFigures()
    {
        var (code, output, _) = await RunAsync("bench", "sbom", "--osv", McpSecurity.Testing.TestData.Path("vuln", "osv", "pypi"), "--advisories", "3000", "--components", "50", "--runs", "2");
        Assert.Equal(0, code);
        Assert.Contains("advisories/s", output, StringComparison.Ordinal);
        Assert.Contains("index:", output, StringComparison.Ordinal);
        Assert.Contains("50 components", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchDetect_PrintsTheMedianRunWithTheRangeOfAll()
    {
        var (code, output, err) = await RunAsync("bench", "detect", "--rules", McpSecurity.Testing.TestData.Path("sigma", "rules"),
            "--regression", McpSecurity.Testing.TestData.Path("sigma", "regression"), "--events", "10000", "--runs", "2", "--threads", "2", "--stored-events", "0");
        Assert.True(code == 0, err);
        var lines = output.Split('\n');
        var matchOnly = Assert.Single(lines, l => l.Contains("all rules  match only", StringComparison.Ordinal));
        Assert.Matches(@"events/s \(\d+\.\d\d us CPU/event\)", matchOnly);
        Assert.Matches(@"\| runs [\d,]+-[\d,]+ events/s", matchOnly);
        Assert.Matches(@"\| [1-9][\d,]* alerts \|", matchOnly);
        Assert.Single(lines, l => l.Contains("all rules  end to end", StringComparison.Ordinal));
        Assert.Equal(4, lines.Count(l => l.Contains(" rules  match only", StringComparison.Ordinal) || l.Contains(" rules  end to end", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PurlParse_PrintsCanonicalForm_BadPurlFails()
    {
        var (code, output, _) = await RunAsync("purl", "parse", "pkg:PYPI/Django_Rest@3.0");
        Assert.Equal(0, code);
        Assert.Equal("pkg:pypi/django-rest@3.0", System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("purl").GetString());
        var bad = await RunAsync("purl", "parse", "pkg:maven/only-name@1");
        Assert.Equal(1, bad.Code);
        Assert.Contains("namespace", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VersionCompare_ArgumentsAndFile()
    {
        Assert.Equal("<", (await RunAsync("version", "compare", "--ecosystem", "PyPI", "1.0.0rc1", "1.0.0")).Out.Trim());
        Assert.Equal(">", (await RunAsync("version", "compare", "--ecosystem", "Maven", "1.0", "1.0-alpha")).Out.Trim());
        var file = Path.Combine(Path.GetTempPath(), $"versions-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(file, ["1.0.0 1.0.0", "1:1.0 2.0", "1.0~rc1 1.0"], Ct);
        var (code, output, _) = await RunAsync("version", "compare", "--ecosystem", "Debian", "--file", file);
        Assert.Equal(0, code);
        Assert.Equal(["=", ">", "<"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, (await RunAsync("version", "compare", "--ecosystem", "NoSuchEcosystem", "1", "2")).Code);
    }

    [Fact]
    public async Task Detect_RegressionEventMatchesItsRule()
    {
        var caseDir = Directory.GetDirectories(McpSecurity.Testing.TestData.Path("sigma", "regression"))
            .First(d => File.ReadAllText(Path.Combine(d, "case.json")).Contains("rules/windows/process_creation/", StringComparison.Ordinal));
        var ruleId = Path.GetFileName(caseDir);
        var (code, output, err) = await RunAsync("detect", "--rules", McpSecurity.Testing.TestData.Path("sigma", "rules", "rules", "windows", "process_creation"),
            "--events", Path.Combine(caseDir, "events.json"));
        Assert.Equal(0, code);
        var matches = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        var hit = matches.First(m => m.GetProperty("rule_id").GetString() == ruleId);
        Assert.False(string.IsNullOrEmpty(hit.GetProperty("author").GetString()));
        Assert.Contains("rules", err, StringComparison.Ordinal);
    }
}
