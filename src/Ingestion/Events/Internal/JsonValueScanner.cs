using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace McpSecurity.Ingestion.Events.Internal;

/// <summary>
/// Splits a UTF-8 byte stream into top-level JSON objects (one per line, concatenated, or the elements of
/// top-level arrays) by tracking strings and brackets, then validates each object with
/// <see cref="Utf8JsonReader"/>. Memory held is bounded by the maximum event size.
/// </summary>
internal sealed class JsonValueScanner : IDisposable
{
    private const int InitialBufferSize = 64 * 1024;

    private static readonly SearchValues<byte> StringStops = SearchValues.Create("\"\\\n"u8);
    private static readonly SearchValues<byte> StructureStops = SearchValues.Create("\"{}[]\n"u8);
    private static readonly SearchValues<byte> GarbageStopsInArray = SearchValues.Create(",]\n"u8);

    private readonly Stream _stream;
    private readonly EventReaderOptions _options;
    private readonly JsonReaderOptions _readerOptions;
    private byte[] _buffer;
    private int _pos;
    private int _length;
    private long _totalRead;
    private bool _stopped;
    private bool _startChecked;
    private bool _inputTooLarge;

    private long _line = 1;
    private bool _atLineStart = true;
    private int _depth;
    private bool _inString;
    private bool _escape;
    private bool _inArray;
    private bool _garbage;
    private int _valueStart = -1;
    private long _valueLine;
    private bool _skipping;

    public JsonValueScanner(Stream stream, EventReaderOptions options)
    {
        _stream = stream;
        _options = options;
        _readerOptions = new JsonReaderOptions { MaxDepth = options.MaxDepth, CommentHandling = JsonCommentHandling.Disallow };
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBufferSize, options.MaxEventBytes + 16));
    }

    /// <summary>The current 1-based line.</summary>
    public long Line => _line;

    public void Stop() => _stopped = true;

    public bool TryNext(out EventRecord record)
    {
        while (!_stopped)
        {
            if (_pos >= _length && !Fill())
            {
                _stopped = true;
                if (_inputTooLarge)
                {
                    record = EventRecord.ForError(_line, string.Create(CultureInfo.InvariantCulture,
                        $"The input is larger than the limit of {_options.MaxInputBytes} bytes (EventReaderOptions.MaxInputBytes); reading stopped."));
                    return true;
                }

                if (_depth > 0 && !_skipping)
                {
                    record = EventRecord.ForError(_valueLine, "The input ends inside this event: the JSON object is not closed.");
                    return true;
                }

                record = default;
                return false;
            }

            if (_depth == 0)
            {
                if (StepTopLevel(out record))
                {
                    return true;
                }
            }
            else if (_inString)
            {
                if (StepString(out record))
                {
                    return true;
                }
            }
            else if (StepStructure(out record))
            {
                return true;
            }
        }

        record = default;
        return false;
    }

    private bool StepTopLevel(out EventRecord record)
    {
        record = default;
        var b = _buffer[_pos];
        if (_garbage)
        {
            var rest = _buffer.AsSpan(_pos, _length - _pos);
            var i = _inArray ? rest.IndexOfAny(GarbageStopsInArray) : rest.IndexOf((byte)'\n');
            if (i < 0)
            {
                _pos = _length;
                _atLineStart = false;
                return false;
            }

            _pos += i;
            _garbage = false;
            return false;
        }

        switch (b)
        {
            case (byte)' ' or (byte)'\t' or (byte)'\r':
                _pos++;
                _atLineStart = false;
                return false;
            case (byte)'\n':
                _pos++;
                _line++;
                _atLineStart = true;
                return false;
            case (byte)'{':
                _valueStart = _pos;
                _valueLine = _line;
                _depth = 1;
                _skipping = false;
                _pos++;
                _atLineStart = false;
                return false;
            case (byte)'[' when !_inArray:
                _inArray = true;
                _pos++;
                _atLineStart = false;
                return false;
            case (byte)',' when _inArray:
            case (byte)']' when _inArray:
                _inArray = b != (byte)']';
                _pos++;
                _atLineStart = false;
                return false;
            default:
                _garbage = true;
                _atLineStart = false;
                record = EventRecord.ForError(_line, string.Create(CultureInfo.InvariantCulture,
                    $"Expected a JSON object but found {Describe(b)}{(_inArray ? " in the array" : string.Empty)}; skipped up to the {(_inArray ? "next element" : "end of the line")}."));
                return true;
        }
    }

    private bool StepString(out EventRecord record)
    {
        record = default;
        if (_escape)
        {
            _escape = false;
            if (_buffer[_pos] != (byte)'\n')
            {
                _pos++;
                return CheckSize(out record);
            }
        }

        var rest = _buffer.AsSpan(_pos, _length - _pos);
        var i = rest.IndexOfAny(StringStops);
        if (i < 0)
        {
            _pos = _length;
            _atLineStart = false;
            return CheckSize(out record);
        }

        _pos += i;
        _atLineStart = false;
        switch (_buffer[_pos])
        {
            case (byte)'"':
                _inString = false;
                _pos++;
                break;
            case (byte)'\\':
                _escape = true;
                _pos++;
                break;
            default:
                // JSON strings cannot hold a raw line break: the value ended early on this line.
                var wasSkipping = _skipping;
                var line = _valueLine;
                ResetValue();
                if (!wasSkipping)
                {
                    record = EventRecord.ForError(line, "A string is not closed before the end of the line: the JSON object is truncated.");
                    return true;
                }

                return false;
        }

        return CheckSize(out record);
    }

    private bool StepStructure(out EventRecord record)
    {
        record = default;
        var rest = _buffer.AsSpan(_pos, _length - _pos);
        var i = rest.IndexOfAny(StructureStops);
        if (i < 0)
        {
            _pos = _length;
            _atLineStart = false;
            return CheckSize(out record);
        }

        var atColumnZero = _atLineStart && i == 0;
        _pos += i;
        _atLineStart = false;
        var b = _buffer[_pos];
        switch (b)
        {
            case (byte)'"':
                _inString = true;
                _pos++;
                break;
            case (byte)'\n':
                _pos++;
                _line++;
                _atLineStart = true;
                return false;
            case (byte)'{' when atColumnZero:
                {
                    // An object at the start of a line while another is open: the open one was cut short.
                    var wasSkipping = _skipping;
                    var line = _valueLine;
                    ResetValue();
                    _atLineStart = true;
                    if (!wasSkipping)
                    {
                        record = EventRecord.ForError(line, "The JSON object is not closed before a new object starts at the beginning of a later line.");
                        return true;
                    }

                    return false;
                }

            case (byte)'{' or (byte)'[':
                _depth++;
                _pos++;
                if (_depth > _options.MaxDepth && !_skipping)
                {
                    _skipping = true;
                    _valueStart = -1;
                    record = EventRecord.ForError(_valueLine, string.Create(CultureInfo.InvariantCulture,
                        $"The event is nested deeper than the limit of {_options.MaxDepth} (EventReaderOptions.MaxDepth); it was skipped."));
                    return true;
                }

                break;
            default:
                _depth--;
                _pos++;
                if (_depth == 0)
                {
                    return Complete(out record);
                }

                break;
        }

        return CheckSize(out record);
    }

    private bool CheckSize(out EventRecord record)
    {
        if (!_skipping && _pos - _valueStart > _options.MaxEventBytes)
        {
            _skipping = true;
            _valueStart = -1;
            record = EventRecord.ForError(_valueLine, string.Create(CultureInfo.InvariantCulture,
                $"The event is larger than the limit of {_options.MaxEventBytes} bytes (EventReaderOptions.MaxEventBytes); it was skipped."));
            return true;
        }

        record = default;
        return false;
    }

    private bool Complete(out EventRecord record)
    {
        var wasSkipping = _skipping;
        var start = _valueStart;
        var line = _valueLine;
        ResetValue();
        if (wasSkipping)
        {
            record = default;
            return false;
        }

        var segment = _buffer.AsSpan(start, _pos - start);
        if (segment.Length > _options.MaxEventBytes)
        {
            record = EventRecord.ForError(line, string.Create(CultureInfo.InvariantCulture,
                $"The event is larger than the limit of {_options.MaxEventBytes} bytes (EventReaderOptions.MaxEventBytes); it was skipped."));
            return true;
        }

        var error = Validate(segment, line);
        record = error is null ? EventRecord.ForEvent(segment.ToArray(), line) : EventRecord.ForError(line, error);
        return true;
    }

    private string? Validate(ReadOnlySpan<byte> segment, long line)
    {
        if (!System.Text.Unicode.Utf8.IsValid(segment))
        {
            return "The event is not valid UTF-8.";
        }

        var reader = new Utf8JsonReader(segment, _readerOptions);
        try
        {
            while (reader.Read())
            {
            }

            return null;
        }
        catch (JsonException ex)
        {
            var at = line + (ex.LineNumber ?? 0);
            return string.Create(CultureInfo.InvariantCulture,
                $"Invalid JSON at line {at}, byte {ex.BytePositionInLine ?? 0} of that line: {ex.Message}");
        }
    }

    private void ResetValue()
    {
        _depth = 0;
        _inString = false;
        _escape = false;
        _valueStart = -1;
        _skipping = false;
    }

    private bool Fill()
    {
        if (_inputTooLarge)
        {
            return false;
        }

        var keepFrom = _valueStart >= 0 ? _valueStart : _pos;
        var keep = _length - keepFrom;
        if (keepFrom > 0)
        {
            Buffer.BlockCopy(_buffer, keepFrom, _buffer, 0, keep);
            if (_valueStart >= 0)
            {
                _valueStart -= keepFrom;
            }

            _pos -= keepFrom;
            _length = keep;
        }

        if (_length == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, InitialBufferSize));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _length);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var n = _stream.Read(_buffer, _length, _buffer.Length - _length);
        if (n <= 0)
        {
            return false;
        }

        _totalRead += n;
        _length += n;
        if (!_startChecked)
        {
            // Gather three bytes so that a UTF-8 byte order mark can be recognised and skipped.
            _startChecked = true;
            while (_length < 3 && (n = _stream.Read(_buffer, _length, _buffer.Length - _length)) > 0)
            {
                _totalRead += n;
                _length += n;
            }

            if (_length >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
            {
                _pos = 3;
            }
        }

        if (_totalRead > _options.MaxInputBytes)
        {
            _inputTooLarge = true;
            _length = _pos;
            return false;
        }

        return _pos < _length || Fill();
    }

    private static string Describe(byte b) => b switch
    {
        (byte)'"' => "a string",
        (byte)'[' => "an array",
        (byte)']' => "']'",
        (byte)',' => "','",
        (byte)'}' => "'}'",
        >= (byte)'0' and <= (byte)'9' or (byte)'-' => "a number",
        (byte)'t' or (byte)'f' => "a boolean or text",
        (byte)'n' => "null or text",
        >= 0x20 and < 0x7F => string.Create(CultureInfo.InvariantCulture, $"'{(char)b}'"),
        _ => string.Create(CultureInfo.InvariantCulture, $"byte 0x{b:X2}"),
    };

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
