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
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            throw new ValidationException("llm.timeout", "The LLM timeout must be between 0 and 10 minutes.");
        }

        return this;
    }

    /// <summary>Parses a provider name (openai, anthropic, ollama).</summary>
    public static LlmProvider ParseProvider(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "openai" or "openai-compatible" => LlmProvider.OpenAi,
        "anthropic" => LlmProvider.Anthropic,
        "ollama" => LlmProvider.Ollama,
        _ => throw new ValidationException("llm.provider", $"Unknown LLM provider '{value}'. Valid: openai, anthropic, ollama."),
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
