using System.Text;
using McpSecurity.Core.Access;
using McpSecurity.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace McpSecurity.Response.Engine;

/// <summary>
/// Secrets for actions (API tokens, webhook signing keys, SMTP passwords). Values are sealed with ASP.NET
/// Core Data Protection (AES-256-CBC + HMAC-SHA256, keys in the data directory) under a per-tenant purpose
/// before they reach the store, so the database alone does not reveal them and one tenant's sealed value
/// does not open under another tenant.
/// </summary>
public sealed class SecretVault(IDataProtectionProvider protection)
{
    private const string Purpose = "mcpsec.response.secrets.v1";

    /// <summary>Seals and stores a secret.</summary>
    public Task SetAsync(ITenantStore tenant, string name, string value, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length is 0 or > 16 * 1024)
        {
            throw new Core.ValidationException("value", "A secret value must be 1 to 16384 characters.");
        }

        var sealedValue = Convert.ToBase64String(Protector(tenant).Protect(Encoding.UTF8.GetBytes(value)));
        return tenant.Response.SetSecretAsync(name, sealedValue, actor, cancellationToken);
    }

    /// <summary>The clear value of a secret, or null when it is not set.</summary>
    public async Task<string?> GetAsync(ITenantStore tenant, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var sealedValue = await tenant.Response.GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
        if (sealedValue is null)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Protector(tenant).Unprotect(Convert.FromBase64String(sealedValue)));
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidOperationException($"Secret '{name}' cannot be opened with this data directory's keys (keys replaced or value from another tenant); set it again.", ex);
        }
    }

    private IDataProtector Protector(ITenantStore tenant) => protection.CreateProtector(Purpose, tenant.Scope.TenantId!);
}

/// <summary>Replaces secret values, and values under sensitive keys, before anything is stored or logged.</summary>
public sealed class Redactor
{
    /// <summary>The replacement text.</summary>
    public const string Mask = "***";

    private static readonly string[] SensitiveKeys = ["token", "password", "secret", "routing_key", "authorization", "api_key", "apikey", "signing_key"];

    private readonly List<string> _values = [];

    /// <summary>Registers a secret value (values shorter than 4 characters are not masked inside text, to keep history readable).</summary>
    public void Add(string value)
    {
        if (value.Length >= 4)
        {
            _values.Add(value);
            _values.Sort((a, b) => b.Length.CompareTo(a.Length));
        }
    }

    /// <summary>Text with every registered secret value masked.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var v in _values)
        {
            if (text.Contains(v, StringComparison.Ordinal))
            {
                text = text.Replace(v, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>True for configuration keys whose values are always masked.</summary>
    public static bool IsSensitiveKey(string key)
    {
        foreach (var s in SensitiveKeys)
        {
            if (key.Contains(s, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A JSON copy with sensitive keys masked, serialised and then text-redacted.</summary>
    public string RedactJson(System.Text.Json.Nodes.JsonNode? node)
    {
        var copy = node?.DeepClone();
        MaskKeys(copy);
        return Redact(copy?.ToJsonString() ?? "null");
    }

    private static void MaskKeys(System.Text.Json.Nodes.JsonNode? node)
    {
        if (node is System.Text.Json.Nodes.JsonObject o)
        {
            foreach (var key in new List<string>(o.Select(p => p.Key)))
            {
                if (IsSensitiveKey(key) && o[key] is System.Text.Json.Nodes.JsonValue)
                {
                    o[key] = Mask;
                }
                else
                {
                    MaskKeys(o[key]);
                }
            }
        }
        else if (node is System.Text.Json.Nodes.JsonArray a)
        {
            foreach (var i in a)
            {
                MaskKeys(i);
            }
        }
    }
}
