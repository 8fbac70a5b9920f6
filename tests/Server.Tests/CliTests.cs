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
