using System.Text.Json;
using McpSecurity.Core;
using McpSecurity.Server.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Hosting;

/// <summary>
/// The one place that maps exceptions to HTTP status codes. Every error leaves as problem+json
/// (RFC 9457) with a useful <c>detail</c>; unexpected errors are logged and their details hidden.
/// </summary>
internal static partial class ErrorHandling
{
    /// <summary>Status recorded for a request its client abandoned (the nginx convention; never sent).</summary>
    public const int StatusCodeClientClosedRequest = 499;

    public static IApplicationBuilder UsePlatformErrors(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody reads an answer, and it is not a server error.
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("McpSecurity.Server.Errors");
            if (logger.IsEnabled(LogLevel.Debug))
            {
                LogAborted(logger, context.Request.Method, context.Request.Path.Value ?? "/");
            }
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodeClientClosedRequest;
            }
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var (status, title, detail) = Map(ex);
            if (status == StatusCodes.Status500InternalServerError)
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("McpSecurity.Server.Errors");
                LogUnhandled(logger, ex, context.Request.Method, context.Request.Path);
                if (context.RequestServices.GetRequiredService<IHostEnvironment>().IsDevelopment())
                {
                    detail = ex.ToString();
                }
            }

            context.Response.Clear();
            context.Response.StatusCode = status;
            var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Instance = context.Request.Path };
            if (ex is ValidationException v)
            {
                problem.Extensions["field"] = v.Field;
            }

            await context.RequestServices.GetRequiredService<IProblemDetailsService>()
                .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = ex }).ConfigureAwait(false);
        }
    });

    internal static (int Status, string Title, string Detail) Map(Exception ex) => ex switch
    {
        ValidationException v => (400, "Invalid request", v.Message),
        Detection.RequestTooLargeException t => (413, "Request body too large", t.Message),
        BadHttpRequestException { StatusCode: 413 } => (413, "Request body too large", "The request body exceeds the configured limit (Limits:MaxRequestBodyBytes)."),
        BadHttpRequestException { InnerException: JsonException json } => (400, "Malformed JSON", DescribeJson(json)),
        BadHttpRequestException b when b.Message.Contains("JSON", StringComparison.OrdinalIgnoreCase) => (400, "Malformed JSON", b.Message),
        BadHttpRequestException b => (b.StatusCode, "Bad request", b.Message),
        JsonException json => (400, "Malformed JSON", DescribeJson(json)),
        NotFoundException n => (404, "Not found", n.Message),
        ConflictException c => (409, "Conflict", c.Message),
        ForbiddenException f => (403, "Forbidden", f.Message),
        UnauthorizedAccessException u => (401, "Unauthorized", u.Message),
        StoreUnavailableException s => (503, "Store unavailable", s.Message),
        _ => (500, "Internal error", "An unexpected error occurred; the request id in the X-Request-Id header identifies it in the logs."),
    };

    private static string DescribeJson(JsonException json)
    {
        var path = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
        var where = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : string.Empty;
        var reason = json.Message;
        var cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            reason = reason[..cut];
        }

        return $"The request body is not valid at JSON path {path}{where}: {reason}";
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Request {Method} {Path} abandoned by the client")]
    private static partial void LogAborted(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
