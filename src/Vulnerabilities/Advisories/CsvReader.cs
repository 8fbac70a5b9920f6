using System.Text;

namespace McpSecurity.Vulnerabilities.Advisories;

/// <summary>A minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF line ends.</summary>
internal sealed class CsvReader(string text)
{
    private readonly StringBuilder _field = new();
    private int _pos;

    /// <summary>The 1-based line number where the next record starts.</summary>
    public int Line { get; private set; } = 1;

    /// <summary>Reads one record; false at end of input.</summary>
    public bool TryReadRecord(out List<string> record)
    {
        record = [];
        if (_pos >= text.Length)
        {
            return false;
        }

        _field.Clear();
        var quoted = false;
        while (_pos < text.Length)
        {
            var c = text[_pos++];
            if (quoted)
            {
                if (c == '"')
                {
                    if (_pos < text.Length && text[_pos] == '"')
                    {
                        _field.Append('"');
                        _pos++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        Line++;
                    }

                    _field.Append(c);
                }
            }
            else if (c == '"' && _field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                record.Add(_field.ToString());
                _field.Clear();
            }
            else if (c == '\n')
            {
                Line++;
                break;
            }
            else if (c != '\r')
            {
                _field.Append(c);
            }
        }

        record.Add(_field.ToString());
        return true;
    }
}
