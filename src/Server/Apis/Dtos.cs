using System.Text.Json;
using System.Text.Json.Serialization;
using McpSecurity.Core.Access;
using McpSecurity.Core.Audit;
using McpSecurity.Core.Jobs;
using McpSecurity.Core.Tenancy;
using Microsoft.AspNetCore.Mvc;

namespace McpSecurity.Server.Apis;

/// <summary>A tenant.</summary>
public sealed record TenantDto(string Id, string Name, bool IsOperator, DateTimeOffset CreatedAt)
{
    internal static TenantDto From(Tenant t) => new(t.Id, t.Name, t.IsOperator, t.CreatedAt);
}

/// <summary>Body of POST /api/v1/tenants.</summary>
public sealed record CreateTenantRequest(string? Name);

/// <summary>A new tenant with its first owner key (shown once).</summary>
public sealed record CreatedTenantDto(TenantDto Tenant, string OwnerApiKey);

/// <summary>A user.</summary>
public sealed record UserDto(string Id, string Name, string? Email, string Role, bool Disabled, DateTimeOffset CreatedAt)
{
    internal static UserDto From(User u) => new(u.Id, u.Name, u.Email, u.Role.Name(), u.Disabled, u.CreatedAt);
}

/// <summary>Body of POST /api/v1/users.</summary>
public sealed record CreateUserRequest(string? Name, string? Email, string? Role, string? Password);

/// <summary>API key metadata (never the secret).</summary>
public sealed record ApiKeyDto(string Id, string Name, string Prefix, string Role, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt)
{
    internal static ApiKeyDto From(ApiKey k) => new(k.Id, k.Name, k.Prefix, k.Role.Name(), k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt);
}

/// <summary>Body of POST /api/v1/apikeys.</summary>
public sealed record CreateApiKeyRequest(string? Name, string? Role, DateTimeOffset? ExpiresAt);

/// <summary>A new key and its secret, shown once.</summary>
public sealed record CreatedApiKeyDto(ApiKeyDto Key, string Secret);

/// <summary>An audit-log entry.</summary>
public sealed record AuditEntryDto(long Sequence, DateTimeOffset Time, string Actor, string Action, string Target, string Summary, string PreviousHash, string Hash)
{
    internal static AuditEntryDto From(AuditEntry e) => new(e.Sequence, e.Time, $"{e.ActorKind}:{e.ActorName} ({e.ActorId})", e.Action, e.Target, e.Summary, e.PreviousHash, e.Hash);
}

/// <summary>A page of audit entries.</summary>
public sealed record AuditPageDto(IReadOnlyList<AuditEntryDto> Entries, long? NextAfter);

/// <summary>A background job.</summary>
public sealed record JobDto(string Id, string Kind, string State, int Progress, string? Message, string? Error, string? Result, int Attempts, bool CancelRequested, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string CreatedBy)
{
    internal static JobDto From(Job j) => new(j.Id, j.Kind, j.State.Name(), j.Progress, j.Message, j.Error, j.Result, j.Attempts, j.CancelRequested, j.CreatedAt, j.StartedAt, j.FinishedAt, j.CreatedBy);
}

/// <summary>Body of POST /api/v1/jobs.</summary>
public sealed record CreateJobRequest(string? Kind, JsonElement? Payload);

/// <summary>Body of POST /api/v1/auth/login.</summary>
public sealed record LoginRequest(string? Tenant, string? Username, string? Password);

/// <summary>The caller.</summary>
public sealed record CallerDto(string TenantId, string Actor, string Role, IReadOnlyList<string> Permissions);

/// <summary>Health status.</summary>
public sealed record HealthDto(string Status, string? Store, string? Detail);

/// <summary>Source-generated JSON for the platform's HTTP surface.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(TenantDto))]
[JsonSerializable(typeof(IReadOnlyList<TenantDto>))]
[JsonSerializable(typeof(CreateTenantRequest))]
[JsonSerializable(typeof(CreatedTenantDto))]
[JsonSerializable(typeof(UserDto))]
[JsonSerializable(typeof(IReadOnlyList<UserDto>))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(ApiKeyDto))]
[JsonSerializable(typeof(IReadOnlyList<ApiKeyDto>))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(CreatedApiKeyDto))]
[JsonSerializable(typeof(AuditPageDto))]
[JsonSerializable(typeof(AuditVerification))]
[JsonSerializable(typeof(JobDto))]
[JsonSerializable(typeof(IReadOnlyList<JobDto>))]
[JsonSerializable(typeof(CreateJobRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(CallerDto))]
[JsonSerializable(typeof(HealthDto))]
[JsonSerializable(typeof(ProblemDetails))]
public sealed partial class PlatformJsonContext : JsonSerializerContext;
