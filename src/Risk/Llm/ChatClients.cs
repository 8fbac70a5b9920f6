using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace McpSecurity.Risk.Llm;

/// <summary>Creates the <see cref="IChatClient"/> of a provider over an HTTP client the host supplies (and guards).</summary>
public static class LlmClients
{
    /// <summary>
    /// The client for <paramref name="options"/>. <paramref name="http"/> must come from the host's
    /// outbound guard (SSRF protection); its own timeout should be at least the options' timeout.
    /// </summary>
    public static IChatClient Create(LlmOptions options, HttpClient http, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        options.Validate();
        return options.Provider switch
        {
            LlmProvider.Anthropic => new AnthropicChatClient(options, http, time ?? TimeProvider.System),
            LlmProvider.Ollama => new OllamaChatClient(options, http, time ?? TimeProvider.System),
            _ => new OpenAiChatClient(options, http, time ?? TimeProvider.System),
        };
    }
}

/// <summary>Shared shape of the three wire clients: non-streaming JSON request, parsed reply.</summary>
public abstract class WireChatClient : IChatClient
{
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    private protected WireChatClient(LlmOptions options, HttpClient http, TimeProvider time)
    {
        Options = options;
        _http = http;
        _time = time;
    }

    /// <summary>The options.</summary>
    protected LlmOptions Options { get; }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        var body = WriteJson(w => WriteRequest(w, list, options));
        var reply = await LlmHttp.PostAsync(_http, Options, Endpoint(), body, SetHeaders, _time, cancellationToken).ConfigureAwait(false);
        try
        {
            using var doc = JsonDocument.Parse(reply);
            return ReadResponse(doc.RootElement);
        }
        catch (JsonException ex)
        {
            throw new LlmException($"The provider's reply is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new LlmException($"The provider's reply does not have the expected shape: {ex.Message}", ex);
        }
        catch (KeyNotFoundException ex)
        {
            throw new LlmException($"The provider's reply lacks a required member: {ex.Message}", ex);
        }
    }

    /// <summary>Not streamed: the whole answer arrives as one update (the assessment needs the complete JSON anyway).</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata(GetType().Name, Options.Endpoint, Options.Model) : null;
    }

    /// <inheritdoc />
    public void Dispose() => GC.SuppressFinalize(this);

    /// <summary>The request URL.</summary>
    private protected abstract Uri Endpoint();

    /// <summary>Adds authentication and protocol headers.</summary>
    private protected abstract void SetHeaders(System.Net.Http.Headers.HttpRequestHeaders headers);

    /// <summary>Writes the request body.</summary>
    private protected abstract void WriteRequest(Utf8JsonWriter w, List<ChatMessage> messages, ChatOptions? options);

    /// <summary>Writes <c>"messages": [{"role", "content"}, ...]</c> with the system prompt as a message (OpenAI and Ollama chat).</summary>
    private protected static void WriteRoleMessages(Utf8JsonWriter w, List<ChatMessage> messages)
    {
        w.WriteStartArray("messages");
        foreach (var m in messages)
        {
            w.WriteStartObject();
            w.WriteString("role", m.Role == ChatRole.System ? "system" : m.Role == ChatRole.Assistant ? "assistant" : "user");
            w.WriteString("content", Text(m));
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>Reads the reply.</summary>
    private protected abstract ChatResponse ReadResponse(JsonElement root);

    private protected Uri Under(string path)
    {
        var b = Options.Endpoint.ToString().TrimEnd('/');
        if (b.EndsWith("/v1", StringComparison.Ordinal) && path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            b = b[..^3];
        }

        return new Uri(b + path);
    }

    private protected int MaxTokens(ChatOptions? options) => Math.Min(options?.MaxOutputTokens ?? Options.MaxOutputTokens, Options.MaxOutputTokens);

    private protected static string Text(ChatMessage m) => m.Text;

    private protected static ChatResponse Response(string text, string? model, long? input, long? output, string? finish)
    {
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = model,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output },
        };
        if (finish is not null)
        {
            response.FinishReason = finish switch
            {
                "stop" or "end_turn" => ChatFinishReason.Stop,
                "length" or "max_tokens" => ChatFinishReason.Length,
                _ => new ChatFinishReason(finish),
            };
        }

        return response;
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>OpenAI chat completions: <c>POST /v1/chat/completions</c>, bearer key, JSON response format.</summary>
public sealed class OpenAiChatClient : WireChatClient
{
    internal OpenAiChatClient(LlmOptions options, HttpClient http, TimeProvider time)
        : base(options, http, time)
    {
    }

    /// <summary>
    /// <c>{base}/v1/chat/completions</c>; an Azure OpenAI deployment URL (<c>.../openai/deployments/NAME</c>, with its
    /// <c>?api-version=</c>) gets <c>/chat/completions</c> appended before the query. Azure's v1 API is a plain base
    /// URL ending in <c>/openai/v1</c>.
    /// </summary>
    private protected override Uri Endpoint()
    {
        var e = Options.Endpoint;
        if (e.AbsolutePath.Contains("/openai/deployments/", StringComparison.OrdinalIgnoreCase))
        {
            var path = e.AbsolutePath.TrimEnd('/');
            if (!path.EndsWith("/chat/completions", StringComparison.OrdinalIgnoreCase))
            {
                path += "/chat/completions";
            }

            return new UriBuilder(e) { Path = path }.Uri;
        }

        return Under("/v1/chat/completions");
    }

    private protected override void SetHeaders(System.Net.Http.Headers.HttpRequestHeaders headers)
    {
        if (string.IsNullOrEmpty(Options.ApiKey))
        {
            return;
        }

        if (Options.EffectiveKeyHeader == LlmKeyHeader.ApiKey)
        {
            headers.Add("api-key", Options.ApiKey);
        }
        else
        {
            headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Options.ApiKey);
        }
    }

    private protected override void WriteRequest(Utf8JsonWriter w, List<ChatMessage> messages, ChatOptions? options)
    {
        w.WriteStartObject();
        w.WriteString("model", options?.ModelId ?? Options.Model);
        WriteRoleMessages(w, messages);
        w.WriteNumber("max_tokens", MaxTokens(options));
        w.WriteNumber("temperature", options?.Temperature ?? 0f);
        if (options?.ResponseFormat is ChatResponseFormatJson)
        {
            w.WriteStartObject("response_format");
            w.WriteString("type", "json_object");
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private protected override ChatResponse ReadResponse(JsonElement root)
    {
        var choices = root.GetProperty("choices");
        if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            throw new InvalidOperationException("choices is empty");
        }

        var choice = choices[0];
        var text = choice.GetProperty("message").GetProperty("content").GetString() ?? throw new InvalidOperationException("message.content is null");
        long? input = null, output = null;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            input = usage.TryGetProperty("prompt_tokens", out var p) ? p.GetInt64() : null;
            output = usage.TryGetProperty("completion_tokens", out var c) ? c.GetInt64() : null;
        }

        var finish = choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        return Response(text, root.TryGetProperty("model", out var m) ? m.GetString() : null, input, output, finish);
    }
}

/// <summary>Anthropic messages: <c>POST /v1/messages</c>, <c>x-api-key</c> and <c>anthropic-version: 2023-06-01</c>, system prompt as a top-level field.</summary>
public sealed class AnthropicChatClient : WireChatClient
{
    /// <summary>The API version header value sent.</summary>
    public const string ApiVersion = "2023-06-01";

    internal AnthropicChatClient(LlmOptions options, HttpClient http, TimeProvider time)
        : base(options, http, time)
    {
    }

    private protected override Uri Endpoint() => Under("/v1/messages");

    private protected override void SetHeaders(System.Net.Http.Headers.HttpRequestHeaders headers)
    {
        if (!string.IsNullOrEmpty(Options.ApiKey))
        {
            headers.Add("x-api-key", Options.ApiKey);
        }

        headers.Add("anthropic-version", ApiVersion);
    }

    private protected override void WriteRequest(Utf8JsonWriter w, List<ChatMessage> messages, ChatOptions? options)
    {
        w.WriteStartObject();
        w.WriteString("model", options?.ModelId ?? Options.Model);
        w.WriteNumber("max_tokens", MaxTokens(options));
        w.WriteNumber("temperature", options?.Temperature ?? 0f);
        var system = new StringBuilder();
        foreach (var m in messages)
        {
            if (m.Role == ChatRole.System)
            {
                system.Append(Text(m));
            }
        }

        if (system.Length > 0)
        {
            w.WriteString("system", system.ToString());
        }

        w.WriteStartArray("messages");
        foreach (var m in messages)
        {
            if (m.Role == ChatRole.System)
            {
                continue;
            }

            w.WriteStartObject();
            w.WriteString("role", m.Role == ChatRole.Assistant ? "assistant" : "user");
            w.WriteString("content", Text(m));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private protected override ChatResponse ReadResponse(JsonElement root)
    {
        if (root.TryGetProperty("type", out var type) && type.GetString() == "error")
        {
            throw new InvalidOperationException("error reply: " + root.GetProperty("error").GetRawText());
        }

        var text = new StringBuilder();
        foreach (var block in root.GetProperty("content").EnumerateArray())
        {
            if (block.GetProperty("type").GetString() == "text")
            {
                text.Append(block.GetProperty("text").GetString());
            }
        }

        long? input = null, output = null;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            input = usage.TryGetProperty("input_tokens", out var p) ? p.GetInt64() : null;
            output = usage.TryGetProperty("output_tokens", out var c) ? c.GetInt64() : null;
        }

        var stop = root.TryGetProperty("stop_reason", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return Response(text.ToString(), root.TryGetProperty("model", out var m) ? m.GetString() : null, input, output, stop);
    }
}

/// <summary>Ollama's native chat API: <c>POST /api/chat</c> with <c>stream: false</c> and <c>format: "json"</c>.</summary>
public sealed class OllamaChatClient : WireChatClient
{
    internal OllamaChatClient(LlmOptions options, HttpClient http, TimeProvider time)
        : base(options, http, time)
    {
    }

    private protected override Uri Endpoint() => Under("/api/chat");

    private protected override void SetHeaders(System.Net.Http.Headers.HttpRequestHeaders headers)
    {
        if (!string.IsNullOrEmpty(Options.ApiKey))
        {
            headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Options.ApiKey);
        }
    }

    private protected override void WriteRequest(Utf8JsonWriter w, List<ChatMessage> messages, ChatOptions? options)
    {
        w.WriteStartObject();
        w.WriteString("model", options?.ModelId ?? Options.Model);
        w.WriteBoolean("stream", false);
        if (options?.ResponseFormat is ChatResponseFormatJson)
        {
            w.WriteString("format", "json");
        }

        WriteRoleMessages(w, messages);
        w.WriteStartObject("options");
        w.WriteNumber("num_predict", MaxTokens(options));
        w.WriteNumber("temperature", options?.Temperature ?? 0f);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private protected override ChatResponse ReadResponse(JsonElement root)
    {
        if (root.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException("error reply: " + error.GetRawText());
        }

        var text = root.GetProperty("message").GetProperty("content").GetString() ?? throw new InvalidOperationException("message.content is null");
        long? input = root.TryGetProperty("prompt_eval_count", out var p) ? p.GetInt64() : null;
        long? output = root.TryGetProperty("eval_count", out var e) ? e.GetInt64() : null;
        var done = root.TryGetProperty("done_reason", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        return Response(text, root.TryGetProperty("model", out var m) ? m.GetString() : null, input, output, done);
    }
}
