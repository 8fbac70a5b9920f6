using System.Text;
using System.Text.Json.Nodes;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace McpSecurity.Response.Actions;

/// <summary>
/// <c>email.send</c>: a message over SMTP with MailKit, optionally with attachments. The connection is opened
/// through the SSRF guard and handed to MailKit. The Message-Id is derived from the idempotency key, so a
/// receiving system can drop a duplicate delivered after an interrupted attempt.
/// </summary>
internal sealed class EmailSendAction : IPlaybookAction
{
    private const int MaxAttachmentBytes = 10 * 1024 * 1024;

    public ActionSpec Spec { get; } = new("email.send", "Send an e-mail over SMTP (MailKit), with attachments",
        ["host", "from", "to", "subject"], ["port", "security", "user", "password", "cc", "body", "html", "attachments"],
        new Dictionary<string, string[]> { ["security"] = ["none", "starttls", "tls", "auto"] });

    public string Describe(JsonObject config) =>
        $"send e-mail '{config["subject"]}' to {config["to"]?.ToJsonString()} via {config["host"]}:{config["port"]?.ToString() ?? "25"}" +
        (config["attachments"] is JsonArray a ? $" with {a.Count} attachment(s)" : "");

    public async Task<JsonNode?> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var message = new MimeMessage();
        message.From.Add(Address(context.Str("from"), "from"));
        foreach (var to in List(context.Config["to"]))
        {
            message.To.Add(Address(to, "to"));
        }

        foreach (var cc in List(context.Config["cc"]))
        {
            message.Cc.Add(Address(cc, "cc"));
        }

        if (message.To.Count == 0)
        {
            throw new ActionFailedException("'with.to' names no recipient", false);
        }

        message.Subject = context.Str("subject");
        message.MessageId = context.IdempotencyKey + "@mcpsec";
        var builder = new BodyBuilder { TextBody = context.OptStr("body") ?? "", HtmlBody = context.OptStr("html") };
        var attachments = 0;
        if (context.Config["attachments"] is JsonArray list)
        {
            foreach (var item in list)
            {
                if (item is JsonObject r && r["report"]?.ToString() is { Length: > 0 } reportId)
                {
                    // A stored report of the tenant (e.g. from a report.generate step), attached as generated.
                    var (artifact, data) = await ReportAttachment.LoadAsync(context, reportId, MaxAttachmentBytes, cancellationToken).ConfigureAwait(false);
                    builder.Attachments.Add(r["name"]?.ToString() is { Length: > 0 } n ? n : artifact.FileName, data, ContentType.Parse(artifact.MediaType));
                    attachments++;
                    continue;
                }

                if (item is not JsonObject a || a["name"]?.ToString() is not { Length: > 0 } name)
                {
                    throw new ActionFailedException("each of 'with.attachments' needs 'name' and 'content', or 'report'", false);
                }

                var content = a["content"] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    null => "",
                    var n => n.ToJsonString(),
                };
                var bytes = a["encoding"]?.ToString() == "base64" ? Convert.FromBase64String(content) : Encoding.UTF8.GetBytes(content);
                if (bytes.Length > MaxAttachmentBytes)
                {
                    throw new ActionFailedException($"attachment '{name}' is {bytes.Length} bytes, more than the limit of {MaxAttachmentBytes}", false);
                }

                builder.Attachments.Add(name, bytes, ContentType.Parse(a["content_type"]?.ToString() ?? "application/octet-stream"));
                attachments++;
            }
        }

        message.Body = builder.ToMessageBody();

        var host = context.Str("host");
        var port = context.OptInt("port") ?? 25;
        var security = (context.OptStr("security") ?? "auto") switch
        {
            "none" => SecureSocketOptions.None,
            "starttls" => SecureSocketOptions.StartTls,
            "tls" => SecureSocketOptions.SslOnConnect,
            "auto" => SecureSocketOptions.StartTlsWhenAvailable,
            var s => throw new ActionFailedException($"'with.security' must be none, starttls, tls or auto (got '{s}')", false),
        };

        using var client = new SmtpClient();
        try
        {
            var socket = await context.Outbound.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            await client.ConnectAsync(socket, host, port, security, cancellationToken).ConfigureAwait(false);
            if (context.OptStr("user") is { Length: > 0 } user)
            {
                await client.AuthenticateAsync(user, context.OptStr("password") ?? "", cancellationToken).ConfigureAwait(false);
            }

            var response = await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
            return new JsonObject { ["message_id"] = message.MessageId, ["recipients"] = message.To.Count + message.Cc.Count, ["attachments"] = attachments, ["response"] = response };
        }
        catch (SmtpCommandException ex)
        {
            // 4xx replies are transient by the SMTP standard; 5xx are permanent.
            var code = (int)ex.StatusCode;
            throw new ActionFailedException($"SMTP server refused the message: {ex.Message}", code is >= 400 and < 500, code, null, ex);
        }
        catch (SmtpProtocolException ex)
        {
            throw new ActionFailedException($"SMTP protocol error: {ex.Message}", true, null, null, ex);
        }
        catch (AuthenticationException ex)
        {
            throw new ActionFailedException($"SMTP authentication failed: {ex.Message}", false, null, null, ex);
        }
    }

    private static MailboxAddress Address(string text, string field) =>
        MailboxAddress.TryParse(text, out var address) ? address : throw new ActionFailedException($"'with.{field}' has an invalid address '{text}'", false);

    private static List<string> List(JsonNode? node)
    {
        var list = new List<string>();
        switch (node)
        {
            case JsonArray a:
                foreach (var i in a)
                {
                    if (i?.ToString() is { Length: > 0 } s)
                    {
                        list.Add(s);
                    }
                }

                break;
            case JsonValue v when v.TryGetValue<string>(out var text):
                foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    list.Add(part);
                }

                break;
        }

        return list;
    }
}

/// <summary>Reads a stored report of the run's tenant for delivery by an action.</summary>
internal static class ReportAttachment
{
    public static async Task<(Core.Reporting.ReportArtifact Artifact, byte[] Content)> LoadAsync(ActionContext context, string reportId, int maxBytes, CancellationToken cancellationToken)
    {
        var reports = context.Tenant.Reports;
        var artifact = await reports.GetArtifactAsync(reportId, cancellationToken).ConfigureAwait(false)
            ?? throw new ActionFailedException($"report '{reportId}' was not found in this tenant", false);
        if (artifact.SizeBytes > maxBytes)
        {
            throw new ActionFailedException($"report '{reportId}' is {artifact.SizeBytes} bytes, more than the limit of {maxBytes}", false);
        }

        var content = await reports.GetArtifactContentAsync(reportId, cancellationToken).ConfigureAwait(false)
            ?? throw new ActionFailedException($"report '{reportId}' has no stored content (expired?)", false);
        return (artifact, content);
    }
}
