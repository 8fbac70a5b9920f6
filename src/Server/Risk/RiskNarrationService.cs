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

    /// <summary>API key (from the environment or a secret store; never logged).</summary>
    public string? ApiKey { get; set; }

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
/// One narrator (with its answer cache and token counters) lives for the process.
/// </summary>
public sealed class RiskNarrationService
{
    private readonly RiskNarrator? _narrator;
    private readonly HttpClient? _http;

    /// <summary>Creates the service from the platform options.</summary>
    public RiskNarrationService(PlatformOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var llm = options.Llm.ToOptions();
        if (llm is null)
        {
            return;
        }

        _http = new OutboundGuard(options.Outbound.AllowedNetworks).CreateClient(llm.Timeout * (llm.MaxRetries + 2));
        _narrator = new RiskNarrator(LlmClients.Create(llm, _http, time), llm);
    }

    /// <summary>The narrator, when an LLM is configured.</summary>
    public RiskNarrator? Narrator => _narrator;

    /// <summary>The report with an LLM analysis, or the template analysis flagged with the reason.</summary>
    public Task<RiskReport> NarrateAsync(RiskReport report, AssessmentInput input, CancellationToken cancellationToken) =>
        _narrator is null
            ? Task.FromResult(RiskNarrator.Fallback(report, "no LLM is configured (Llm:Url, Llm:Model)"))
            : _narrator.NarrateAsync(report, input, cancellationToken);
}
