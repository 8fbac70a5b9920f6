using System.Text.Json.Serialization;

namespace McpSecurity.Core.Storage.Sql;

/// <summary>Source-generated JSON for values the store keeps as JSON text.</summary>
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(AnalysisDiff))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;

/// <summary>The added and resolved findings of an analysis, as stored.</summary>
internal sealed record AnalysisDiff(McpSecurity.Core.SupplyChain.FindingKey[] Added, McpSecurity.Core.SupplyChain.FindingKey[] Resolved);
