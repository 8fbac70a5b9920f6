using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Ingestion.Tests.Events;

public sealed class CefParserTests
{
    [Fact]
    public void SpecificationExample_HeaderAndExtensions()
    {
        var e = CefParser.Parse("Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232");

        Assert.Equal(0, e.Version);
        Assert.Equal("Security", e.DeviceVendor);
        Assert.Equal("threatmanager", e.DeviceProduct);
        Assert.Equal("1.0", e.DeviceVersion);
        Assert.Equal("100", e.DeviceEventClassId);
        Assert.Equal("worm successfully stopped", e.Name);
        Assert.Equal(10, e.SeverityLevel);
        Assert.Equal("Sep 19 08:26:10 host", e.Prefix);
        Assert.Equal(["src", "dst", "spt"], e.Extensions.Select(p => p.Key));
        Assert.Equal("1232", e.GetExtension("spt"));
    }

    [Fact]
    public void Escapes_InHeaderAndExtension()
    {
        var e = CefParser.Parse(@"CEF:0|security|threatmanager|1.0|100|detected a \| in message|High|msg=a \= sign, a \\ backslash\nand a new line act=blocked a value cs1Label=Policy cs1=Block all");

        Assert.Equal("detected a | in message", e.Name);
        Assert.Equal(8, e.SeverityLevel);
        Assert.Equal("a = sign, a \\ backslash\nand a new line", e.GetExtension("msg"));
        Assert.Equal("blocked a value", e.GetExtension("act"));

        using var json = JsonDocument.Parse(e.ToJson());
        var root = json.RootElement;
        Assert.Equal("security", root.GetProperty("cef.device.vendor").GetString());
        Assert.Equal(8, root.GetProperty("event.severity").GetInt32());
        Assert.Equal("blocked a value", root.GetProperty("cef.extensions.act").GetString());
        Assert.Equal("Block all", root.GetProperty("cef.labels.Policy").GetString());
    }

    [Fact]
    public void EmptyExtensionAndTrailingPipe()
    {
        var e = CefParser.Parse("CEF:1|V|P|1|sig|name|Unknown|");

        Assert.Empty(e.Extensions);
        Assert.Null(e.SeverityLevel);
        Assert.Null(e.Prefix);
    }

    [Theory]
    [InlineData("no marker here", "no 'CEF:' marker")]
    [InlineData("CEF:x|a|b|c|d|e|f|", "version")]
    [InlineData("CEF:0|a|b|c|d", "only 4 of its 7 fields")]
    public void BadInput_IsRejectedWithAReason(string line, string reason)
    {
        Assert.False(CefParser.TryParse(line, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => CefParser.Parse(line));
    }

    [Property(MaxTest = 1000)]
    public Property AnyText_ParsesOrReportsWithoutThrowing(string? text)
    {
        var line = "CEF:0|" + (text ?? string.Empty);
        if (CefParser.TryParse(line, out var e, out _))
        {
            using var json = JsonDocument.Parse(e.ToJson());
            return (json.RootElement.GetProperty("cef.version").GetInt32() == 0).ToProperty();
        }

        return true.ToProperty();
    }
}
