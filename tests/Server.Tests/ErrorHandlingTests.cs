using System.Collections.Concurrent;
using McpSecurity.Core;
using McpSecurity.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Tests;

/// <summary>The error middleware: status codes, and what reaches the error log.</summary>
public sealed class ErrorHandlingTests
{
    private sealed class CapturingLogs : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));

        public void Dispose()
        {
        }
    }

    private sealed class TestEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";

        public string ApplicationName { get; set; } = "mcpsec";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    private static async Task<(HttpContext Context, CapturingLogs Logs)> SendAsync(Func<HttpContext, Task> endpoint, bool clientGone)
    {
        var logs = new CapturingLogs();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace))
            .AddProblemDetails()
            .AddSingleton<IHostEnvironment, TestEnvironment>()
            .BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UsePlatformErrors();
        app.Run(ctx => endpoint(ctx));
        using var aborted = new CancellationTokenSource();
        if (clientGone)
        {
            await aborted.CancelAsync();
        }

        var context = new DefaultHttpContext { RequestServices = services, RequestAborted = aborted.Token };
        context.Request.Method = "GET";
        context.Request.Path = "/api/v1/findings";
        context.Response.Body = new MemoryStream();
        await app.Build()(context);
        return (context, logs);
    }

    [Fact]
    public async Task ARequestAbandonedByItsClient_IsNotLoggedAsAnError()
    {
        var (context, logs) = await SendAsync(ctx => Task.FromCanceled(ctx.RequestAborted), clientGone: true);
        Assert.Equal(ErrorHandling.StatusCodeClientClosedRequest, context.Response.StatusCode);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("abandoned by the client", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACancellationTheClientDidNotAskFor_IsAnInternalError()
    {
        // A timeout inside the server while the client still waits is a server fault.
        var (context, logs) = await SendAsync(_ => throw new OperationCanceledException("store call timed out"), clientGone: false);
        Assert.Equal(StatusCodes.Status500InternalServerError, context.Response.StatusCode);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("/api/v1/findings", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AValidationError_IsA400ProblemNamingTheField_AndNotLogged()
    {
        var (context, logs) = await SendAsync(_ => throw new ValidationException("severity", "Unknown severity 'urgent'."), clientGone: false);
        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.Contains("\"field\":\"severity\"", body, StringComparison.Ordinal);
        Assert.Contains("Unknown severity", body, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
    }
}
