using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace McpSecurity.Reporting.Tests.Support;

/// <summary>
/// Reads the structure of a PDF the way a reader would start: trailer, startxref, the classic cross-reference
/// table, and the dictionaries of every object it points to. Independent of the library that wrote the file.
/// </summary>
internal sealed partial class PdfStructure
{
    public bool XrefOffsetsValid { get; private set; }

    public string Problem { get; private set; } = string.Empty;

    public int PageObjects { get; private set; }

    public int DeclaredPageCount { get; private set; } = -1;

    public string InfoTitle { get; private set; } = string.Empty;

    public int OutlineCount { get; private set; }

    public int EmbeddedFonts { get; private set; }

    public static PdfStructure Parse(byte[] pdf)
    {
        var s = new PdfStructure();
        var text = Encoding.Latin1.GetString(pdf);
        var start = text.LastIndexOf("startxref", StringComparison.Ordinal);
        if (start < 0)
        {
            s.Problem = "no startxref";
            return s;
        }

        var xrefOffset = int.Parse(Digits().Match(text, start + 9).Value, CultureInfo.InvariantCulture);
        if (!text.AsSpan(xrefOffset).StartsWith("xref"))
        {
            s.Problem = $"startxref {xrefOffset} does not point at an xref table";
            return s;
        }

        var pos = xrefOffset + 4;
        var offsets = new Dictionary<int, int>();
        while (true)
        {
            var header = SubsectionHeader().Match(text, pos);
            if (!header.Success || header.Index != pos)
            {
                break;
            }

            var first = int.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture);
            var count = int.Parse(header.Groups[2].Value, CultureInfo.InvariantCulture);
            pos = header.Index + header.Length;
            for (var i = 0; i < count; i++)
            {
                var entry = text.Substring(pos, 20);
                if (entry[17] == 'n')
                {
                    offsets[first + i] = int.Parse(entry.AsSpan(0, 10), CultureInfo.InvariantCulture);
                }

                pos += 20;
            }
        }

        if (offsets.Count == 0)
        {
            s.Problem = "empty xref table";
            return s;
        }

        foreach (var (number, offset) in offsets)
        {
            var expected = number.ToString(CultureInfo.InvariantCulture) + " 0 obj";
            if (!text.AsSpan(offset).StartsWith(expected))
            {
                s.Problem = $"object {number}: xref offset {offset} points at '{text.Substring(offset, Math.Min(20, text.Length - offset))}'";
                return s;
            }

            var end = text.IndexOf("endobj", offset, StringComparison.Ordinal);
            var streamAt = text.IndexOf("stream", offset, StringComparison.Ordinal);
            var dict = text[offset..(streamAt >= 0 && streamAt < end ? streamAt : end)];
            if (PageType().IsMatch(dict))
            {
                s.PageObjects++;
            }

            if (PagesType().IsMatch(dict) && !dict.Contains("/Parent", StringComparison.Ordinal))
            {
                s.DeclaredPageCount = int.Parse(CountEntry().Match(dict).Groups[1].Value, CultureInfo.InvariantCulture);
            }

            if (dict.Contains("/Title", StringComparison.Ordinal) && dict.Contains("/Parent", StringComparison.Ordinal))
            {
                s.OutlineCount++;
            }

            if (dict.Contains("/FontFile2", StringComparison.Ordinal))
            {
                s.EmbeddedFonts++;
            }

            if (dict.Contains("/Creator", StringComparison.Ordinal) && TitleEntry().Match(dict) is { Success: true } t)
            {
                s.InfoTitle = t.Groups[1].Value;
            }
        }

        var trailer = text.IndexOf("trailer", xrefOffset, StringComparison.Ordinal);
        var size = SizeEntry().Match(text, trailer);
        if (trailer < 0 || !size.Success || int.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture) <= offsets.Keys.Max())
        {
            s.Problem = "trailer /Size does not cover every object";
            return s;
        }

        s.XrefOffsetsValid = true;
        return s;
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();

    [GeneratedRegex(@"\s*(\d+) (\d+)\s*\r?\n")]
    private static partial Regex SubsectionHeader();

    [GeneratedRegex(@"/Type\s*/Page(?![a-zA-Z])")]
    private static partial Regex PageType();

    [GeneratedRegex(@"/Type\s*/Pages(?![a-zA-Z])")]
    private static partial Regex PagesType();

    [GeneratedRegex(@"/Count\s+(\d+)")]
    private static partial Regex CountEntry();

    [GeneratedRegex(@"/Size\s+(\d+)")]
    private static partial Regex SizeEntry();

    [GeneratedRegex(@"/Title\s*\(([^)]*)\)")]
    private static partial Regex TitleEntry();
}
