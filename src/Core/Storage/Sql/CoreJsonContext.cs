using System.Text.Json.Serialization;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Source-generated JSON for values the store keeps as JSON text.</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;
