using System.Text.Json;
using System.Text.Json.Nodes;
using Fluid;
using Fluid.Values;

namespace McpSecurity.Response.Templates;

/// <summary>A template that does not parse or cannot be rendered within its limits.</summary>
public sealed class TemplateException(string message) : Exception(message);

/// <summary>
/// A string from a playbook, rendered with Fluid (Liquid syntax) over the run context. Liquid is sandboxed:
/// it can read the values given to it and apply filters, nothing else — no member access on .NET objects,
/// no I/O. Rendering is bounded by <see cref="MaxSteps"/> statements and <see cref="MaxOutputChars"/> characters.
/// </summary>
public sealed class Template
{
    /// <summary>Most statements one render may execute (stops runaway loops).</summary>
    public const int MaxSteps = 10_000;

    /// <summary>Longest rendered text.</summary>
    public const int MaxOutputChars = 256 * 1024;

    private static readonly FluidParser Parser = new();

    private static readonly TemplateOptions Options = CreateOptions();

    private static readonly System.Text.RegularExpressions.Regex StepReference = new(@"\bsteps\.([A-Za-z_][A-Za-z0-9_]*)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static readonly System.Text.RegularExpressions.Regex SecretReference = new(@"\bsecrets\.([A-Za-z][A-Za-z0-9_\-]*)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private readonly IFluidTemplate? _template;

    private Template(string text, IFluidTemplate? template)
    {
        Text = text;
        _template = template;
    }

    /// <summary>The template text.</summary>
    public string Text { get; }

    /// <summary>True when the text has no Liquid markup and renders to itself.</summary>
    public bool IsLiteral => _template is null;

    /// <summary>Step ids the template reads (<c>steps.&lt;id&gt;</c>).</summary>
    public IEnumerable<string> StepReferences
    {
        get
        {
            foreach (System.Text.RegularExpressions.Match m in StepReference.Matches(Text))
            {
                yield return m.Groups[1].Value;
            }
        }
    }

    /// <summary>Secret names the template reads (<c>secrets.&lt;name&gt;</c>).</summary>
    public IEnumerable<string> SecretReferences
    {
        get
        {
            foreach (System.Text.RegularExpressions.Match m in SecretReference.Matches(Text))
            {
                yield return m.Groups[1].Value;
            }
        }
    }

    /// <summary>Parses a template; throws <see cref="TemplateException"/> with Fluid's reason.</summary>
    public static Template Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("{{", StringComparison.Ordinal) && !text.Contains("{%", StringComparison.Ordinal))
        {
            return new Template(text, null);
        }

        if (!Parser.TryParse(text, out var template, out var error))
        {
            throw new TemplateException(error);
        }

        return new Template(text, template);
    }

    /// <summary>Renders over a model (root name → value); throws <see cref="TemplateException"/> when a limit is hit.</summary>
    public string Render(TemplateModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_template is null)
        {
            return Text;
        }

        var context = new TemplateContext(Options);
        foreach (var (name, value) in model.Values)
        {
            context.SetValue(name, ToFluid(value));
        }

        string text;
        try
        {
            text = _template.Render(context);
        }
        catch (InvalidOperationException ex)
        {
            throw new TemplateException(ex.Message);
        }

        if (text.Length > MaxOutputChars)
        {
            throw new TemplateException($"rendered text is {text.Length} characters, longer than the limit of {MaxOutputChars}");
        }

        return text;
    }

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions { MaxSteps = MaxSteps, MaxRecursion = 16 };
        return options;
    }

    /// <summary>Converts a JSON value into Fluid values (objects become dictionaries, arrays lists).</summary>
    internal static FluidValue ToFluid(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return NilValue.Instance;
            case JsonObject o:
                {
                    var dict = new Dictionary<string, FluidValue>(o.Count, StringComparer.Ordinal);
                    foreach (var (k, v) in o)
                    {
                        dict[k] = ToFluid(v);
                    }

                    return new DictionaryValue(new FluidValueDictionaryFluidIndexable(dict));
                }

            case JsonArray a:
                {
                    var list = new FluidValue[a.Count];
                    for (var i = 0; i < a.Count; i++)
                    {
                        list[i] = ToFluid(a[i]);
                    }

                    return new ArrayValue(list);
                }

            case JsonValue v:
                return v.GetValueKind() switch
                {
                    JsonValueKind.String => new StringValue(v.GetValue<string>()),
                    JsonValueKind.Number => NumberValue.Create(decimal.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : 0m),
                    JsonValueKind.True => BooleanValue.True,
                    JsonValueKind.False => BooleanValue.False,
                    _ => NilValue.Instance,
                };
            default:
                return NilValue.Instance;
        }
    }
}

/// <summary>Values a template can read, by root name.</summary>
public sealed class TemplateModel
{
    /// <summary>Root name → value.</summary>
    public Dictionary<string, JsonNode?> Values { get; } = new(StringComparer.Ordinal);
}
