using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Testing.Llm;

/// <summary>
/// A real HTTP server on 127.0.0.1 that answers /v1/chat/completions (OpenAI), /v1/messages (Anthropic)
/// and /api/chat (Ollama) in the providers' exact wire formats, from a script of replies.
/// </summary>
internal sealed class WireServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, string, Task>> _script = new();

    private WireServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<(string Path, string Body, Dictionary<string, string> Headers)> Requests { get; } = new();

    public static async Task<WireServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new WireServer(app);
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted);
            server.Requests.Enqueue(((ctx.Request.Path.Value ?? "") + ctx.Request.QueryString.Value, body, ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            if (!server._script.TryDequeue(out var reply))
            {
                ctx.Response.StatusCode = 500;
                await ctx.Response.WriteAsync("{\"error\":\"script exhausted\"}", ctx.RequestAborted);
                return;
            }

            await reply(ctx, body);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        server.BaseAddress = new Uri(app.Urls.First());
        return server;
    }

    public void Enqueue(Func<HttpContext, string, Task> reply) => _script.Enqueue(reply);

    /// <summary>A successful completion in the wire format of the requested path.</summary>
    public void Answer(string content, int inputTokens = 1200, int outputTokens = 300) => Enqueue((ctx, _) =>
    {
        var escaped = System.Text.Json.JsonSerializer.Serialize(content);
        var path = ctx.Request.Path.Value;
        var json = path switch
        {
            "/v1/messages" => $$$"""{"id":"msg_01","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":{{{escaped}}}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":{{{inputTokens}}},"output_tokens":{{{outputTokens}}}}}""",
            "/api/chat" => $$$"""{"model":"llama-test","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":{{{escaped}}}},"done_reason":"stop","done":true,"prompt_eval_count":{{{inputTokens}}},"eval_count":{{{outputTokens}}}}""",
            _ => $$$"""{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":{{{escaped}}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":{{{inputTokens}}},"completion_tokens":{{{outputTokens}}},"total_tokens":{{{inputTokens + outputTokens}}}}}""",
        };
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    });

    public void Status(HttpStatusCode code, string body, string? retryAfter = null) => Enqueue((ctx, _) =>
    {
        ctx.Response.StatusCode = (int)code;
        if (retryAfter is not null)
        {
            ctx.Response.Headers.RetryAfter = retryAfter;
        }

        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body);
    });

    public void Raw(string body) => Enqueue((ctx, _) =>
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body);
    });

    public void Hang(TimeSpan delay) => Enqueue(async (ctx, _) => await Task.Delay(delay, ctx.RequestAborted));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
