using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Response.Tests.Support;

/// <summary>One request as the listener received it.</summary>
public sealed record Received(string Method, string Path, string Query, Dictionary<string, string> Headers, string Body)
{
    public string Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : "";
}

/// <summary>What the listener answers.</summary>
public sealed record Reply(int Status, string Body = "", string ContentType = "application/json", string? Location = null);

/// <summary>A real HTTP server (Kestrel) on 127.0.0.1 and a free port that records every request.</summary>
public sealed class LocalListener : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalListener(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Answers a request; the default answers 200 with "{}".</summary>
    public Func<Received, Task<Reply>> Handler { get; set; } = _ => Task.FromResult(new Reply(200, "{}"));

    public static async Task<LocalListener> StartAsync(Func<Received, Task<Reply>>? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var listener = new LocalListener(app);
        if (handler is not null)
        {
            listener.Handler = handler;
        }

        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var h in ctx.Request.Headers)
            {
                headers[h.Key.ToLowerInvariant()] = h.Value.ToString();
            }

            var received = new Received(ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.QueryString.Value ?? "", headers, body);
            listener.Requests.Enqueue(received);
            var reply = await listener.Handler(received);
            ctx.Response.StatusCode = reply.Status;
            if (reply.Location is not null)
            {
                ctx.Response.Headers.Location = reply.Location;
            }

            ctx.Response.ContentType = reply.ContentType;
            await ctx.Response.WriteAsync(reply.Body);
        });
        await app.StartAsync();
        listener.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return listener;
    }

    public Uri Url(string path) => new(BaseAddress, path.TrimStart('/'));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
