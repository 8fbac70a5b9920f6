using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using McpSecurity.Cli;
using McpSecurity.Testing;

namespace McpSecurity.Server.Tests;

/// <summary>
/// `mcpsec scan --format sarif` output validated against the official SARIF 2.1.0 JSON Schema with
/// JsonSchema.Net. That schema is written for JSON Schema draft-04, which JsonSchema.Net does not evaluate;
/// it uses no draft-04 keyword whose meaning changed later (no boolean exclusiveMinimum/Maximum) other than
/// the root <c>id</c>, so it is evaluated as draft-07 without that <c>id</c> (every <c>$ref</c> in it is local).
/// </summary>
public sealed class SarifSchemaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Loaded once: JsonSchema.Net registers schemas by $id globally and refuses a second registration.
    private static readonly Lazy<JsonSchema> Schema = new(Load);

    private static JsonSchema LoadSchema() => Schema.Value;

    private static JsonSchema Load()
    {
        var node = JsonNode.Parse(File.ReadAllText(TestData.Path("scans", "sarif", "schema", "sarif-schema-2.1.0.json")))!.AsObject();
        Assert.Equal("http://json-schema.org/draft-04/schema#", node["$schema"]!.GetValue<string>());
        node["$schema"] = "http://json-schema.org/draft-07/schema#";
        Assert.StartsWith("https://docs.oasis-open.org/sarif/", node["id"]!.GetValue<string>(), StringComparison.Ordinal);
        node.Remove("id"); // draft-04 "id"; every $ref in the schema is local (#/definitions/…), so no base URI is needed
        return JsonSchema.FromText(node.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
    }

    private static EvaluationResults Validate(JsonSchema schema, string json) =>
        schema.Evaluate(JsonDocument.Parse(json).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });

    private static string Errors(EvaluationResults results) =>
        string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 }).Select(d => $"{d.InstanceLocation}: {string.Join(", ", d.Errors!.Values)}"));

    [Fact]
    public async Task ScanSarif_IsValidAgainstTheSarif210Schema_AndTheCheckCanFail()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "mcpsec-sarif-" + Guid.NewGuid().ToString("N")[..8]);
        using var o1 = new StringWriter();
        using var e1 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["db", "import", TestData.Path("vuln", "osv", "go"), "--data-dir", dataDir], o1, e1, Ct));
        var sbom = Directory.GetFiles(TestData.Path("sbom", "cyclonedx", "real", "SBOM", "proton-bridge"), "*.json").Order(StringComparer.Ordinal).First();
        using var o2 = new StringWriter();
        using var e2 = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["scan", sbom, "--format", "sarif", "--data-dir", dataDir], o2, e2, Ct));
        var sarif = o2.ToString();
        Assert.NotEmpty(JsonDocument.Parse(sarif).RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray());

        var schema = LoadSchema();
        var results = Validate(schema, sarif);
        Assert.True(results.IsValid, Errors(results));

        // The same document with a result level the schema does not allow is refused.
        var broken = JsonNode.Parse(sarif)!;
        broken["runs"]![0]!["results"]![0]!["level"] = "fatal";
        Assert.False(Validate(schema, broken.ToJsonString()).IsValid);
    }

    [Fact]
    public void RealToolLogs_FromTheDataSet_AreJudgedByTheSameSchema()
    {
        // The data set's logs from real tools: the schema as loaded here accepts most of them (a check that the
        // draft-07 evaluation of the draft-04 schema is sound, not that every tool writes valid SARIF).
        var schema = LoadSchema();
        var files = Directory.GetFiles(TestData.Path("scans", "sarif"), "*.sarif", SearchOption.AllDirectories)
            .Where(f => !f.Contains("invalid", StringComparison.OrdinalIgnoreCase) && !f.Contains("schema", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.NotEmpty(files);
        var valid = 0;
        var parsed = 0;
        foreach (var f in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(f);
                using var _ = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                continue;
            }

            parsed++;
            if (Validate(schema, text).IsValid)
            {
                valid++;
            }
        }

        Assert.True(valid * 2 > parsed, $"{valid} of {parsed} parseable SARIF logs valid");
    }
}
