namespace McpSecurity.Ingestion.Tests.Events;

/// <summary>A stream that yields one byte value a given number of times without holding it in memory.</summary>
internal sealed class RepeatStream(byte value, long count) : Stream
{
    private long _left = count;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, _left);
        buffer.AsSpan(offset, n).Fill(value);
        _left -= n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Concatenates byte arrays and streams.</summary>
internal sealed class ConcatStream(params object[] parts) : Stream
{
    private int _index;
    private Stream? _current;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            if (_current is null)
            {
                if (_index >= parts.Length)
                {
                    return 0;
                }

                var part = parts[_index++];
                _current = part as Stream ?? new MemoryStream((byte[])part);
            }

            var n = _current.Read(buffer, offset, count);
            if (n > 0)
            {
                return n;
            }

            _current = null;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
