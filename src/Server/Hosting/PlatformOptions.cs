namespace McpSecurity.Server.Hosting;

/// <summary>
/// Settings of the platform, bound from the configuration section <c>Mcpsec</c>, environment variables
/// <c>MCPSEC__*</c> (e.g. <c>MCPSEC__STORE__PROVIDER</c>) and command-line options. README lists them all.
/// </summary>
public sealed class PlatformOptions
{
    /// <summary>Directory for the embedded database and artifacts.</summary>
    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>Addresses to listen on.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Which roles this process runs: api, ingest, detect, respond, report, all (comma separated).</summary>
    public string Roles { get; set; } = "all";

    /// <summary>Store settings.</summary>
    public StoreOptions Store { get; set; } = new();

    /// <summary>HTTP limits.</summary>
    public LimitOptions Limits { get; set; } = new();

    /// <summary>Background job settings.</summary>
    public JobOptions Jobs { get; set; } = new();

    /// <summary>Vulnerability feeds downloaded by <c>mcpsec db sync</c>.</summary>
    public FeedOptions Feeds { get; set; } = new();

    /// <summary>Outbound connection policy (SSRF guard).</summary>
    public OutboundOptions Outbound { get; set; } = new();

    /// <summary>Event ingestion and detection.</summary>
    public Detection.DetectionOptions Detection { get; set; } = new();
    /// <summary>LLM used to write risk analyses (optional).</summary>
    public Risk.LlmSettings Llm { get; set; } = new();

    /// <summary>Reporting settings.</summary>
    public ReportOptions Reports { get; set; } = new();

    /// <summary>Load the demo data set on start.</summary>
    public bool Demo { get; set; }

    /// <summary>The default data directory: <c>$MCPSEC_HOME</c>, else <c>~/.mcpsec</c>.</summary>
    public static string DefaultDataDir()
    {
        var home = Environment.GetEnvironmentVariable("MCPSEC_HOME");
        return !string.IsNullOrWhiteSpace(home)
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".mcpsec");
    }

    /// <summary>True when the process runs the given role.</summary>
    public bool HasRole(string role)
    {
        foreach (var r in Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (string.Equals(r, "all", StringComparison.OrdinalIgnoreCase) || string.Equals(r, role, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Rejects unknown roles and providers with a message naming the option.</summary>
    public void Validate()
    {
        foreach (var r in Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (r.ToLowerInvariant() is not ("api" or "ingest" or "detect" or "respond" or "report" or "all"))
            {
                throw new Core.ValidationException("roles", $"Unknown role '{r}' in --roles. Valid roles: api, ingest, detect, respond, report, all.");
            }
        }

        if (Store.Provider.ToLowerInvariant() is not ("sqlite" or "postgres"))
        {
            throw new Core.ValidationException("store", $"Unknown store '{Store.Provider}'. Use sqlite or postgres.");
        }

        if (string.Equals(Store.Provider, "postgres", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(Store.Connection))
        {
            throw new Core.ValidationException("connection", "--store postgres needs --connection (or MCPSEC__STORE__CONNECTION), e.g. 'Host=db;Database=mcpsec;Username=mcpsec;Password=…'.");
        }
    }
}

/// <summary>Store settings.</summary>
public sealed class StoreOptions
{
    /// <summary>"sqlite" (embedded default) or "postgres".</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>PostgreSQL connection string, or an explicit SQLite file path (default: DataDir/mcpsec.db).</summary>
    public string? Connection { get; set; }
}

/// <summary>Vulnerability feed URLs.</summary>
public sealed class FeedOptions
{
    /// <summary>Feed files to download: OSV <c>all.zip</c> per ecosystem, CISA KEV JSON, EPSS CSV.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>How often the server looks for advisory imports made by other processes, in seconds (then reloads and re-analyses).</summary>
    public int PollSeconds { get; set; } = 60;
}

/// <summary>Outbound connection policy.</summary>
public sealed class OutboundOptions
{
    /// <summary>CIDR networks exempt from the deny list of loopback, private, link-local and metadata addresses.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

/// <summary>Background job settings.</summary>
public sealed class JobOptions
{
    /// <summary>Seconds a running job keeps its claim without reporting progress; after a crash it is picked up again once this passes.</summary>
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>How often an idle runner looks for queued jobs, in milliseconds.</summary>
    public int PollMilliseconds { get; set; } = 250;
}

/// <summary>Request limits.</summary>
public sealed class LimitOptions
{
    /// <summary>Largest accepted request body, in bytes (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Requests per minute per API key or user (per client address when anonymous).</summary>
    public int RequestsPerMinute { get; set; } = 600;
}

/// <summary>Reporting settings (<c>MCPSEC__REPORTS__*</c>).</summary>
public sealed class ReportOptions
{
    /// <summary>Path of the ATT&amp;CK enterprise STIX bundle for coverage reports; none by default.</summary>
    public string? AttackCatalogue { get; set; }
}
