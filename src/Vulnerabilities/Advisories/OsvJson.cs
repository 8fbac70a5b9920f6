using System.Text.Json;
using System.Text.Json.Serialization;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>Source-generated serialisation for the advisory feeds.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata, AllowTrailingCommas = false, ReadCommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64)]
[JsonSerializable(typeof(KevCatalogDto))]
[JsonSerializable(typeof(NvdResponseDto))]
internal sealed partial class AdvisoryJsonContext : JsonSerializerContext
{
}
