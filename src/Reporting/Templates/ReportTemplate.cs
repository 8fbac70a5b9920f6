using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Values;
using McpSecurity.Core;
using McpSecurity.Reporting.Model;
using Microsoft.Extensions.FileProviders;

namespace McpSecurity.Reporting.Templates;

/// <summary>Limits of a custom template render.</summary>
/// <param name="MaxSteps">Statements and loop iterations the template may execute.</param>
/// <param name="MaxOutputChars">Characters the template may write.</param>
/// <param name="Timeout">Wall-clock time the render may take.</param>
public sealed record TemplateLimits(int MaxSteps = 2_000_000, int MaxOutputChars = 50_000_000, TimeSpan? Timeout = null)
{
    /// <summary>The defaults: 2,000,000 steps, 50,000,000 characters, 10 seconds.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Effective timeout (10 seconds when not set).</summary>
    public TimeSpan EffectiveTimeout => Timeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>A custom template stopped or rejected; the message says which limit or where the syntax error is.</summary>
public sealed class TemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TemplateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A tenant-supplied Liquid template (Fluid), rendered in a sandbox: the template sees only the report as plain
/// values under <c>report</c> (no .NET objects, no file system: <c>include</c> and <c>render</c> find nothing),
/// every output value is HTML-encoded (the <c>raw</c> filter is disabled), and the render is stopped after
/// <see cref="TemplateLimits.MaxSteps"/> steps, <see cref="TemplateLimits.MaxOutputChars"/> characters or
/// <see cref="TemplateLimits.Timeout"/>.
/// </summary>
public sealed class ReportTemplate
{
    /// <summary>Largest template source accepted.</summary>
    public const int MaxSourceChars = 256 * 1024;

    /// <summary>
    /// Most items a range such as <c>(1..n)</c> may hold. Fluid builds a range as a list before the loop runs (and
    /// before any step is counted), so an unbounded range would exhaust memory; larger ranges stop the render.
    /// </summary>
    public const int MaxRangeItems = 100_000;

    private static readonly FluidParser Parser = new();
    private readonly IFluidTemplate _template;

    private ReportTemplate(IFluidTemplate template) => _template = template;

    /// <summary>Parses a template or throws a <see cref="ValidationException"/> with the parser's position and reason.</summary>
    public static ReportTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > MaxSourceChars)
        {
            throw new ValidationException("template", $"The template has {source.Length} characters; at most {MaxSourceChars} are allowed.");
        }

        if (!Parser.TryParse(source, out var template, out var error))
        {
            throw new ValidationException("template", "The template does not parse: " + error);
        }

        return new ReportTemplate(new RangeLimiter().VisitTemplate(template));
    }

    /// <summary>Renders the report through the template within the limits.</summary>
    /// <exception cref="TemplateException">A limit was reached or the template failed.</exception>
    public string Render(ReportDocument report, TemplateLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        limits ??= TemplateLimits.Default;
        var options = new TemplateOptions
        {
            MemberAccessStrategy = new DefaultMemberAccessStrategy(),
            FileProvider = new NullFileProvider(),
            MaxSteps = limits.MaxSteps,
            MaxRecursion = 16,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            Now = () => report.GeneratedAt,
        };

        // "raw" would let a template print an outside value unencoded; here it encodes like any other output.
        options.Filters.AddFilter("raw", static (input, _, _) => new ValueTask<FluidValue>(new StringValue(input.ToStringValue())));
        var context = new TemplateContext(options);
        context.SetValue("report", FluidValue.Create(ToModel(report), options));
        var output = new LimitedWriter(limits.MaxOutputChars, limits.EffectiveTimeout);
        var render = Task.Run(async () => await _template.RenderAsync(output, context, HtmlEncoder.Default).ConfigureAwait(false));
        try
        {
            if (!render.Wait(limits.EffectiveTimeout))
            {
                output.Abort();
                throw new TemplateException(string.Create(CultureInfo.InvariantCulture, $"The template ran longer than {limits.EffectiveTimeout.TotalSeconds:0.#} s and was stopped."));
            }
        }
        catch (AggregateException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException switch
            {
                TemplateException t => t,
                // Fluid reports both its step limit and its recursion limit with this message.
                InvalidOperationException i when i.Message.Contains("maximum level of recursion", StringComparison.OrdinalIgnoreCase) =>
                    new TemplateException($"The template executed more than {limits.MaxSteps} steps or nested includes too deeply and was stopped (an endless or too large loop?).", i),
                var other => new TemplateException("The template failed: " + other.Message, other),
            };
        }

        return output.ToString();
    }

    /// <summary>The report as plain dictionaries, lists and scalars: the only thing a template can read.</summary>
    internal static Dictionary<string, object?> ToModel(ReportDocument report)
    {
        var sections = new List<object?>();
        foreach (var s in report.Sections)
        {
            var blocks = new List<object?>();
            foreach (var b in s.Blocks)
            {
                blocks.Add(b switch
                {
                    ParagraphBlock p => new Dictionary<string, object?> { ["type"] = "paragraph", ["text"] = p.Text },
                    NoticeBlock n => new Dictionary<string, object?> { ["type"] = "notice", ["level"] = n.Level, ["text"] = n.Text },
                    MetricsBlock m => new Dictionary<string, object?>
                    {
                        ["type"] = "metrics",
                        ["items"] = m.Items.Select(i => (object?)new Dictionary<string, object?> { ["label"] = i.Label, ["value"] = i.Value, ["tone"] = i.Tone }).ToList(),
                    },
                    TableBlock t => new Dictionary<string, object?>
                    {
                        ["type"] = "table",
                        ["name"] = t.Name,
                        ["primary"] = t.Primary,
                        ["columns"] = t.Columns.Select(c => (object?)c).ToList(),
                        ["rows"] = t.Rows.Select(r => (object?)r.Select(c => (object?)c).ToList()).ToList(),
                    },
                    BarChartBlock c => new Dictionary<string, object?>
                    {
                        ["type"] = "bar-chart",
                        ["title"] = c.Title,
                        ["bars"] = c.Bars.Select(x => (object?)new Dictionary<string, object?> { ["label"] = x.Label, ["value"] = x.Value, ["tone"] = x.Tone }).ToList(),
                    },
                    _ => throw new InvalidOperationException("Unknown report block " + b.GetType().Name + "."),
                });
            }

            sections.Add(new Dictionary<string, object?> { ["title"] = s.Title, ["blocks"] = blocks });
        }

        return new Dictionary<string, object?>
        {
            ["kind"] = report.Kind,
            ["title"] = report.Title,
            ["subtitle"] = report.Subtitle,
            ["tenant"] = report.Tenant,
            ["generated_at"] = report.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["period_from"] = report.Period.From.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["period_to"] = report.Period.To.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["empty"] = report.Empty,
            ["sections"] = sections,
        };
    }

    /// <summary>Replaces every range expression with one that checks its size before Fluid materialises it.</summary>
    private sealed class RangeLimiter : AstRewriter
    {
        protected override Expression VisitRangeExpression(RangeExpression rangeExpression) =>
            new BoundedRangeExpression((RangeExpression)base.VisitRangeExpression(rangeExpression));
    }

    private sealed class BoundedRangeExpression(RangeExpression inner) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var from = (await inner.From.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue();
            var to = (await inner.To.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue();
            if (Math.Abs(to - from) + 1 > MaxRangeItems)
            {
                throw new TemplateException($"The range ({from}..{to}) has more than {MaxRangeItems} items; iterate the report's lists or use a smaller range.");
            }

            return await inner.EvaluateAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>Counts characters, enforces the output limit and the deadline on every write.</summary>
    private sealed class LimitedWriter(int maxChars, TimeSpan timeout) : TextWriter
    {
        private readonly long _deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        private readonly StringBuilder _sb = new();
        private volatile bool _aborted;

        public override Encoding Encoding => Encoding.UTF8;

        public void Abort() => _aborted = true;

        public override void Write(char value)
        {
            Check(1);
            _sb.Append(value);
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }

            Check(value.Length);
            _sb.Append(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Check(count);
            _sb.Append(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Check(buffer.Length);
            _sb.Append(buffer);
        }

        public override string ToString() => _sb.ToString();

        private void Check(int adding)
        {
            if (_aborted || Stopwatch.GetTimestamp() > _deadline)
            {
                throw new TemplateException(string.Create(CultureInfo.InvariantCulture, $"The template ran longer than {timeout.TotalSeconds:0.#} s and was stopped."));
            }

            if (_sb.Length + adding > maxChars)
            {
                throw new TemplateException($"The template wrote more than {maxChars} characters and was stopped.");
            }
        }
    }
}
