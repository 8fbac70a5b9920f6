using System.Globalization;
using McpSecurity.Core;

namespace McpSecurity.Risk.Llm;

/// <summary>Wire protocols the LLM clients speak.</summary>
public enum LlmProvider
{
    /// <summary>OpenAI chat completions (<c>POST /v1/chat/completions</c>): OpenAI, Azure OpenAI's v1 API, vLLM, LM Studio, Ollama's OpenAI API.</summary>
    OpenAi,

    /// <summary>Anthropic messages (<c>POST /v1/messages</c>).</summary>
    Anthropic,

    /// <summary>Ollama's native chat API (<c>POST /api/chat</c>).</summary>
    Ollama,
}

/// <summary>Which header carries the API key of the OpenAI-compatible client.</summary>
public enum LlmKeyHeader
{
    /// <summary><c>api-key</c> for Azure OpenAI hosts (<c>*.openai.azure.com</c>, <c>*.cognitiveservices.azure.com</c>), <c>Authorization: Bearer</c> otherwise.</summary>
    Auto,

    /// <summary><c>Authorization: Bearer KEY</c> (OpenAI, vLLM, LM Studio, Ollama).</summary>
    Bearer,

    /// <summary><c>api-key: KEY</c> (Azure OpenAI key authentication).</summary>
    ApiKey,
}

/// <summary>How to reach an LLM and the limits every call is held to.</summary>
public sealed record LlmOptions
{
    /// <summary>Protocol.</summary>
    public LlmProvider Provider { get; init; } = LlmProvider.OpenAi;

    /// <summary>Base URL, e.g. <c>https://api.openai.com</c> or <c>http://127.0.0.1:11434</c>; a trailing <c>/v1</c> is accepted.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Model name.</summary>
    public required string Model { get; init; }

    /// <summary>API key; sent only in the provider's auth header, never logged or stored in reports.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Header of the key for the OpenAI-compatible client.</summary>
    public LlmKeyHeader KeyHeader { get; init; } = LlmKeyHeader.Auto;

    /// <summary>Price of a million input tokens (any currency, e.g. USD), for the cost counters; null when unknown.</summary>
    public double? InputCostPerMillionTokens { get; init; }

    /// <summary>Price of a million output tokens, for the cost counters; null when unknown.</summary>
    public double? OutputCostPerMillionTokens { get; init; }

    /// <summary>The header actually used: <see cref="LlmKeyHeader.Auto"/> resolved by the endpoint's host.</summary>
    public LlmKeyHeader EffectiveKeyHeader => KeyHeader != LlmKeyHeader.Auto ? KeyHeader
        : Endpoint.Host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase) || Endpoint.Host.EndsWith(".cognitiveservices.azure.com", StringComparison.OrdinalIgnoreCase)
            ? LlmKeyHeader.ApiKey : LlmKeyHeader.Bearer;

    /// <summary>The cost of a call at the configured prices, or null when no price is configured.</summary>
    public double? Cost(long inputTokens, long outputTokens) => InputCostPerMillionTokens is null && OutputCostPerMillionTokens is null
        ? null
        : Math.Round(((inputTokens * (InputCostPerMillionTokens ?? 0)) + (outputTokens * (OutputCostPerMillionTokens ?? 0))) / 1_000_000d, 6);

    /// <summary>Most tokens the model may write (sent as max_tokens / num_predict).</summary>
    public int MaxOutputTokens { get; init; } = 2000;

    /// <summary>Budget of the prompt in estimated tokens (characters / 4); facts are trimmed to fit.</summary>
    public int MaxInputTokens { get; init; } = 12_000;

    /// <summary>Time limit of one attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt (429, 5xx, timeouts).</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>First backoff delay; doubles per retry. A 429's Retry-After takes precedence.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait honoured from a Retry-After header; longer waits fail the call instead.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest response body read; bigger answers are refused.</summary>
    public int MaxResponseBytes { get; init; } = 512 * 1024;

    /// <summary>Checks the options at the boundary.</summary>
    public LlmOptions Validate()
    {
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttps && Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new ValidationException("llm.url", $"LLM URL '{Endpoint}' must be an absolute http or https URL.");
        }

        if (string.IsNullOrWhiteSpace(Model) || Model.Length > 200)
        {
            throw new ValidationException("llm.model", "An LLM model name is required (at most 200 characters).");
        }

        Check(MaxOutputTokens, 16, 100_000, "llm.maxOutputTokens");
        Check(MaxInputTokens, 500, 1_000_000, "llm.maxInputTokens");
        Check(MaxRetries, 0, 10, "llm.maxRetries");
        Check(MaxResponseBytes, 1024, 16 * 1024 * 1024, "llm.maxResponseBytes");
        foreach (var (price, field) in (ReadOnlySpan<(double?, string)>)[(InputCostPerMillionTokens, "llm.inputCostPerMillionTokens"), (OutputCostPerMillionTokens, "llm.outputCostPerMillionTokens")])
        {
            if (price is { } p && (double.IsNaN(p) || p < 0 || p > 100_000))
            {
                throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"{field} = {p} is outside 0–100000."));
            }
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            throw new ValidationException("llm.timeout", "The LLM timeout must be between 0 and 10 minutes.");
        }

        return this;
    }

    /// <summary>Parses a provider name (openai, anthropic, ollama; azure-openai is the OpenAI wire format with the <c>api-key</c> header).</summary>
    public static LlmProvider ParseProvider(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "openai" or "openai-compatible" or "azure" or "azure-openai" => LlmProvider.OpenAi,
        "anthropic" => LlmProvider.Anthropic,
        "ollama" => LlmProvider.Ollama,
        _ => throw new ValidationException("llm.provider", $"Unknown LLM provider '{value}'. Valid: openai, azure-openai, anthropic, ollama."),
    };

    /// <summary>Parses a key header name (auto, bearer, api-key); <c>azure-openai</c> as the provider implies api-key.</summary>
    public static LlmKeyHeader ParseKeyHeader(string? value, string? provider = null) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => provider?.Trim().ToLowerInvariant() is "azure" or "azure-openai" ? LlmKeyHeader.ApiKey : LlmKeyHeader.Auto,
        "bearer" or "authorization" => LlmKeyHeader.Bearer,
        "api-key" or "apikey" => LlmKeyHeader.ApiKey,
        _ => throw new ValidationException("llm.keyHeader", $"Unknown key header '{value}'. Valid: auto, bearer, api-key."),
    };

    private static void Check(int value, int min, int max, string field)
    {
        if (value < min || value > max)
        {
            throw new ValidationException(field, string.Create(CultureInfo.InvariantCulture, $"{field} = {value} is outside {min}–{max}."));
        }
    }
}

/// <summary>An LLM call failed: transport, HTTP status, timeout, size limit or an answer that is not what was asked for.</summary>
public sealed class LlmException(string message, Exception? inner = null) : Exception(message, inner);
