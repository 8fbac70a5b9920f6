using System.Text;
using McpSecurity.Detection.Mapping;

namespace McpSecurity.Detection.Tests;

/// <summary>Field mappings and log-source routing.</summary>
public sealed class MappingTests
{
    private static readonly string ImageRule = Some.ProcessRule("sel:\n  Image|endswith: '\\whoami.exe'\n  CommandLine|contains: '/all'\ncondition: sel");

    [Fact]
    public void Security_4688_is_process_creation_with_renamed_fields()
    {
        var engine = Some.Engine(ImageRule);
        var ev = Some.EvtxEvent("Security", 4688, new { NewProcessName = @"C:\Windows\System32\whoami.exe", CommandLine = "whoami /all" });
        var match = Assert.Single(Some.Matches(engine, ev));
        Assert.Contains("Image", match.MatchedFields);
    }

    [Fact]
    public void Rules_see_only_events_of_their_log_source()
    {
        var engine = Some.Engine(ImageRule);
        var fields = new { Image = @"C:\Windows\System32\whoami.exe", CommandLine = "whoami /all" };
        Assert.Single(Some.Matches(engine, Some.SysmonEvent(1, fields)));
        Assert.Empty(Some.Matches(engine, Some.SysmonEvent(3, fields)));
        Assert.Empty(Some.Matches(engine, Some.EvtxEvent("Security", 4624, fields)));
        Assert.Empty(Some.Matches(engine, Some.EvtxEvent("Microsoft-Windows-PowerShell/Operational", 1, fields)));
    }

    [Fact]
    public void Service_rules_are_routed_by_channel_and_system_fields_are_flattened()
    {
        var rule = """
            title: Security logon
            id: 5c0b1e8e-0000-4000-8000-000000000001
            logsource:
              product: windows
              service: security
            detection:
              sel:
                EventID: 4624
                Provider_Name: Microsoft-Windows-Sysmon
                Security_UserID: S-1-5-18
                Computer: HOST1
              condition: sel
            level: low
            """;
        var engine = Some.Engine(rule);
        Assert.Single(Some.Matches(engine, Some.EvtxEvent("Security", 4624, new { TargetUserName = "bob" })));
        Assert.Empty(Some.Matches(engine, Some.EvtxEvent("System", 4624, new { TargetUserName = "bob" })));
    }

    [Fact]
    public void Keys_with_spaces_and_user_data_are_flattened_by_leaf_name()
    {
        var rule = """
            title: Defender
            id: 5c0b1e8e-0000-4000-8000-000000000002
            logsource:
              product: windows
              service: wmi
            detection:
              sel:
                Operation|contains: 'ExecQuery'
              condition: sel
            level: low
            """;
        var json = """
            {"Event":{"System":{"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational"},
             "UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"x"},"Operation":"Start IWbemServices::ExecQuery - root"}}}}
            """;
        var defender = """
            title: Defender threat
            id: 5c0b1e8e-0000-4000-8000-000000000003
            logsource:
              product: windows
              service: windefend
            detection:
              sel:
                ThreatName|contains: 'Mimikatz'
              condition: sel
            level: high
            """;
        var defJson = """
            {"Event":{"System":{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational"},
             "EventData":{"#attributes":{"Name":"x"},"Threat Name":"HackTool:Win32/Mimikatz"}}}
            """;
        var engine = Some.Engine(rule, defender);
        Assert.Equal("Defender", Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes(json))).Rule.Title);
        Assert.Equal("Defender threat", Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes(defJson))).Rule.Title);
    }

    [Fact]
    public void Event_ids_with_qualifiers_are_read_from_their_text()
    {
        var rule = """
            title: Service installed
            id: 5c0b1e8e-0000-4000-8000-000000000005
            logsource:
              product: windows
              service: system
            detection:
              sel:
                EventID: 7045
                ImagePath|contains: 'evil'
              condition: sel
            level: high
            """;
        var json = """
            {"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System"},
             "EventData":{"ServiceName":"x","ImagePath":"C:\\evil.exe"}}}
            """;
        Assert.Single(Some.Matches(Some.Engine(rule), Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("ECS", """{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"windows"}},"process":{"executable":"C:\\Windows\\System32\\whoami.exe","command_line":"whoami /all"}}""")]
    [InlineData("OCSF", """{"class_uid":1007,"activity_id":1,"device":{"os":{"type":"Windows"}},"process":{"file":{"path":"C:\\Windows\\System32\\whoami.exe"},"cmd_line":"whoami /all"}}""")]
    [InlineData("flat JSON with its logsource", """{"logsource":{"product":"windows","category":"process_creation"},"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}""")]
    public void Other_json_shapes_map_onto_sigma_fields(string shape, string json)
    {
        var engine = Some.Engine(ImageRule);
        Assert.True(Some.Matches(engine, Encoding.UTF8.GetBytes(json)).Count == 1, shape);
    }

    [Fact]
    public void Dotted_field_names_address_nested_json()
    {
        var rule = """
            title: Cloud
            id: 5c0b1e8e-0000-4000-8000-000000000004
            logsource:
              product: aws
              service: cloudtrail
            detection:
              sel:
                eventName: StopLogging
                userIdentity.arn|endswith: ':root'
              condition: sel
            level: high
            """;
        var mapping = FieldMappingConfig.DefaultYaml + "\n  - { product: aws, service: cloudtrail, format: json, when: { eventSource: cloudtrail.amazonaws.com } }\n";
        var engine = new SigmaEngineBuilder().AddRuleYaml(rule).UseMappingYaml(mapping).Build();
        var json = """{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{"arn":"arn:aws:iam::1:root"}}""";
        Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Events_that_name_their_logsource_reach_rules_of_any_product()
    {
        var rule = """
            title: Auditd
            id: 5c0b1e8e-0000-4000-8000-000000000006
            logsource:
              product: linux
              service: auditd
            detection:
              sel:
                type: EXECVE
                a0: wget
              condition: sel
            level: medium
            """;
        var engine = Some.Engine(rule);
        var named = """{"logsource":{"product":"linux","service":"auditd"},"type":"EXECVE","a0":"wget"}""";
        var otherService = """{"logsource":{"product":"linux","service":"syslog"},"type":"EXECVE","a0":"wget"}""";
        var unnamed = """{"type":"EXECVE","a0":"wget"}""";
        Assert.Single(Some.Matches(engine, Encoding.UTF8.GetBytes(named)));
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes(otherService)));
        Assert.Empty(Some.Matches(engine, Encoding.UTF8.GetBytes(unnamed)));
    }

    [Fact]
    public void Invalid_mapping_names_the_path()
    {
        var ex = Assert.Throws<FieldMappingException>(() => FieldMappingConfig.FromYaml("formats: []\nlogsources:\n  - { product: x, format: nope }\n", "m.yml"));
        Assert.Contains("m.yml:3: logsources[0].format", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_mapping_routes_every_windows_category_of_the_regression_data()
    {
        var categories = FieldMappingConfig.Default.LogSources.Where(l => l.Product == "windows").Select(l => l.Category).ToHashSet();
        Assert.Superset(new HashSet<string?> { "process_creation", "registry_set", "file_event", "image_load", "registry_delete", "process_access", "pipe_created", "registry_event", "network_connection", "dns_query", "ps_script" }, categories);
    }
}
