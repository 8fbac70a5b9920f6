using Microsoft.AspNetCore.Builder;

namespace McpSecurity.Server.Hosting;

/// <summary>Security headers on every response, and the request id echoed as <c>X-Request-Id</c>.</summary>
internal static class SecurityHeaders
{
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var incoming = context.Request.Headers["X-Request-Id"].ToString();
        if (IsSafeRequestId(incoming))
        {
            context.TraceIdentifier = incoming;
        }

        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            h["X-Request-Id"] = context.TraceIdentifier;
            h["X-Content-Type-Options"] = "nosniff";
            h["X-Frame-Options"] = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            // The web UI's component library sets theme variables and element styles inline; scripts stay 'self' only.
            h["Content-Security-Policy"] = context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
                ? "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
                : "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
            {
                h.CacheControl = "no-store";
            }

            if (context.Request.IsHttps)
            {
                h.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
            }

            return Task.CompletedTask;
        });
        return next(context);
    });

    private static bool IsSafeRequestId(string value)
    {
        if (value.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
