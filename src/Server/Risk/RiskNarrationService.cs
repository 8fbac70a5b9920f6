using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using McpSecurity.Core;
using McpSecurity.Core.Storage;
using McpSecurity.Response.Engine;
using McpSecurity.Risk.Assessment;
using McpSecurity.Risk.Llm;
using McpSecurity.Server.Hosting;
using McpSecurity.Server.Outbound;

namespace McpSecurity.Server.Risk;

/// <summary>LLM settings (section <c>Llm</c>; environment <c>MCPSEC__LLM__URL</c>, <c>__MODEL</c>, <c>__PROVIDER</c>, <c>__APIKEY</c>).</summary>
public sealed class LlmSettings
{
    /// <summary>openai (OpenAI-compatible), anthropic or ollama.</summary>
    public string? Provider { get; set; }

    /// <summary>Base URL; no LLM is used when empty.</summary>
    public string? Url { get; set; }

    /// <summary>Model name.</summary>
    public string? Model { get; set; }

    /// <summary>API key (from the environment or configuration; never logged).</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Name of a tenant secret (set with <c>PUT /api/v1/secrets/{name}</c>) that holds the API key. When set, each
    /// assessment reads the key from its tenant's encrypted secret store, and a tenant without that secret gets
    /// the template analysis, flagged; <see cref="ApiKey"/> is then not used.
    /// </summary>
    public string? ApiKeySecret { get; set; }

    /// <summary>Output token budget per call.</summary>
    public int MaxOutputTokens { get; set; } = 2000;

    /// <summary>Seconds per attempt.</summary>
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>Retries after the first attempt.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Header of the key for OpenAI-compatible endpoints: auto (api-key for Azure OpenAI hosts), bearer or api-key.</summary>
    public string? KeyHeader { get; set; }

    /// <summary>Price of a million input tokens, for the cost counters.</summary>
    public double? InputCostPerMillionTokens { get; set; }

    /// <summary>Price of a million output tokens, for the cost counters.</summary>
    public double? OutputCostPerMillionTokens { get; set; }

    /// <summary>The validated client options, or null when no LLM is configured.</summary>
    public LlmOptions? ToOptions()
    {
        if (string.IsNullOrWhiteSpace(Url))
        {
            return null;
        }

        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri))
        {
            throw new Core.ValidationException("Llm:Url", $"'{Url}' is not an absolute URL.");
        }

        return new LlmOptions
        {
            Provider = LlmOptions.ParseProvider(Provider),
            Endpoint = uri,
            Model = Model ?? string.Empty,
            ApiKey = ApiKey,
            MaxOutputTokens = MaxOutputTokens,
            Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
            MaxRetries = MaxRetries,
            KeyHeader = LlmOptions.ParseKeyHeader(KeyHeader, Provider),
            InputCostPerMillionTokens = InputCostPerMillionTokens,
            OutputCostPerMillionTokens = OutputCostPerMillionTokens,
        }.Validate();
    }
}

/// <summary>
/// Writes assessment analyses with the configured LLM through the outbound guard, or says why not.
/// With a key from configuration one narrator (answer cache, token counters) serves the process. With
/// <see cref="LlmSettings.ApiKeySecret"/> the key is read from the assessed tenant's secret store on every
/// call, and one narrator is kept per distinct key (by its SHA-256; the key itself is never a dictionary key,
/// logged or stored in a report).
/// </summary>
public sealed class RiskNarrationService
{
    /// <summary>Narrators kept for distinct secret-store keys before the set is started afresh.</summary>
    public const int MaxKeyedNarrators = 64;

    private readonly LlmOptions? _options;
    private readonly RiskNarrator? _narrator;
    private readonly HttpClient? _http;
    private readonly TimeProvider _time;
    private readonly SecretVault _vault;
    private readonly string? _keySecret;
    private readonly ConcurrentDictionary<string, RiskNarrator> _keyed = new(StringComparer.Ordinal);

    /// <summary>Creates the service from the platform options.</summary>
    public RiskNarrationService(PlatformOptions options, TimeProvider time, SecretVault vault)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _vault = vault;
        var llm = options.Llm.ToOptions();
        if (llm is null)
        {
            return;
        }

        _options = llm;
        _http = new OutboundGuard(options.Outbound.AllowedNetworks).CreateClient(llm.Timeout * (llm.MaxRetries + 2));
        if (string.IsNullOrWhiteSpace(options.Llm.ApiKeySecret))
        {
            _narrator = new RiskNarrator(LlmClients.Create(llm, _http, time), llm);
        }
        else
        {
            _keySecret = Names.Validate(options.Llm.ApiKeySecret.Trim(), "Llm:ApiKeySecret");
        }
    }

    /// <summary>The process-wide narrator, when an LLM is configured with its key in configuration.</summary>
    public RiskNarrator? Narrator => _narrator;

    /// <summary>The report with an LLM analysis, or the template analysis flagged with the reason.</summary>
    public async Task<RiskReport> NarrateAsync(RiskReport report, AssessmentInput input, ITenantStore tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (_options is null)
        {
            return RiskNarrator.Fallback(report, "no LLM is configured (Llm:Url, Llm:Model)");
        }

        if (_keySecret is null)
        {
            return await _narrator!.NarrateAsync(report, input, cancellationToken).ConfigureAwait(false);
        }

        string? key;
        try
        {
            key = await _vault.GetAsync(tenant, _keySecret, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            return RiskNarrator.Fallback(report, ex.Message);
        }

        if (string.IsNullOrEmpty(key))
        {
            return RiskNarrator.Fallback(report, $"the LLM key secret '{_keySecret}' is not set for this tenant (PUT /api/v1/secrets/{_keySecret})");
        }

        return await NarratorFor(key).NarrateAsync(report, input, cancellationToken).ConfigureAwait(false);
    }

    private RiskNarrator NarratorFor(string key)
    {
        var fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        if (_keyed.TryGetValue(fingerprint, out var narrator))
        {
            return narrator;
        }

        if (_keyed.Count >= MaxKeyedNarrators)
        {
            _keyed.Clear();
        }

        var options = _options! with { ApiKey = key };
        return _keyed.GetOrAdd(fingerprint, _ => new RiskNarrator(LlmClients.Create(options, _http!, _time), options));
    }
}
