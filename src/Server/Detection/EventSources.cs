using System.Buffers;
using System.Net;
using System.Threading.Channels;
using McpSecurity.Core;
using McpSecurity.Core.Messaging;
using McpSecurity.Core.Storage;
using McpSecurity.Ingestion.Events;
using McpSecurity.Server.Apis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace McpSecurity.Server.Detection;

/// <summary>
/// Publishes events of a long-running source (syslog, file tail) on the bus in batches: a batch leaves when
/// it is full or half a second after its first event. The buffer is bounded; a full buffer makes the
/// source wait (backpressure) rather than grow memory.
/// </summary>
internal sealed class BatchingPublisher(IEventBus bus, string tenantId, string source, int batchSize, TimeProvider time) : IAsyncDisposable
{
    private readonly Channel<ReadOnlyMemory<byte>> _queue = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(Math.Max(1, batchSize) * 4) { FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _sequence;

    public string TenantId => tenantId;

    public void Start() => _loop = Task.Run(RunAsync);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken) => _queue.Writer.WriteAsync(utf8Json, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var prefix = Ids.New(source);
        var batch = new List<ReadOnlyMemory<byte>>(batchSize);
        while (await _queue.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
        {
            using var window = new CancellationTokenSource(TimeSpan.FromMilliseconds(500), time);
            try
            {
                while (batch.Count < batchSize)
                {
                    if (_queue.Reader.TryRead(out var item))
                    {
                        batch.Add(item);
                        continue;
                    }

                    if (!await _queue.Reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested)
            {
                // The batch window closed: publish what there is.
            }

            if (batch.Count > 0)
            {
                var id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}-{_sequence++}");
                await bus.PublishAsync(new BusMessage(id, EventBatches.Topic, tenantId, EventBatches.Encode(batch), time.GetUtcNow()), _stop.Token).ConfigureAwait(false);
                IngestMetrics.Record(new IngestResult(batch.Count, 0, [], false), source);
                batch = new List<ReadOnlyMemory<byte>>(batchSize);
            }
        }
    }

    /// <summary>Resolves the tenant of a source: a tenant id, a tenant name, or (when empty) the operator tenant.</summary>
    public static async Task<string> ResolveTenantAsync(IStore store, string? nameOrId, string option, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(nameOrId))
        {
            foreach (var t in await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
            {
                if (t.IsOperator)
                {
                    return t.Id;
                }
            }

            throw new ValidationException(option, $"No operator tenant exists yet; run 'mcpsec init' or set {option}.");
        }

        foreach (var t in await store.ListAllTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(t.Id, nameOrId, StringComparison.Ordinal) || string.Equals(t.Name, nameOrId.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return t.Id;
            }
        }

        throw new ValidationException(option, $"Tenant '{nameOrId}' ({option}) does not exist.");
    }
}

/// <summary>The optional syslog source (<c>Detection:Syslog</c>): RFC 5424/3164 over UDP and TCP, as ECS-style JSON events.</summary>
internal sealed partial class SyslogSource(IStore store, IEventBus bus, DetectionOptions options, TimeProvider time, ILogger<SyslogSource> logger) : IHostedService, IAsyncDisposable
{
    private SyslogListener? _listener;
    private BatchingPublisher? _publisher;

    /// <summary>The bound UDP end point once started.</summary>
    public IPEndPoint? UdpEndPoint => _listener?.UdpEndPoint;

    /// <summary>The bound TCP end point once started.</summary>
    public IPEndPoint? TcpEndPoint => _listener?.TcpEndPoint;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var syslog = options.Syslog;
        if (!IPAddress.TryParse(syslog.Bind, out var bind))
        {
            throw new ValidationException("Detection:Syslog:Bind", $"'{syslog.Bind}' is not an IP address (Detection:Syslog:Bind).");
        }

        var tenant = await BatchingPublisher.ResolveTenantAsync(store, syslog.Tenant, "Detection:Syslog:Tenant", cancellationToken).ConfigureAwait(false);
        _publisher = new BatchingPublisher(bus, tenant, "syslog", options.BatchSize, time);
        _publisher.Start();
        _listener = new SyslogListener(
            new SyslogListenerOptions
            {
                BindAddress = bind,
                Port = syslog.Port,
                EnableUdp = syslog.Udp,
                EnableTcp = syslog.Tcp,
                OnError = e =>
                {
                    IngestMetrics.Record(new IngestResult(0, 1, [], false), "syslog");
                    LogRejected(logger, e.Remote, e.Reason);
                },
            },
            (received, ct) => _publisher.WriteAsync(received.Message.ToJson(), ct));
        _listener.Start();
        LogListening(logger, _listener.UdpEndPoint, _listener.TcpEndPoint, tenant);
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
            _listener = null;
        }

        if (_publisher is not null)
        {
            await _publisher.DisposeAsync().ConfigureAwait(false);
            _publisher = null;
        }
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Syslog source listening on UDP {Udp} and TCP {Tcp} for tenant {Tenant}")]
    private static partial void LogListening(ILogger logger, IPEndPoint? udp, IPEndPoint? tcp, string tenant);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Syslog message from {Remote} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, IPEndPoint? remote, string reason);
}

/// <summary>
/// The optional file-tail source (<c>Detection:FileTail</c>): follows NDJSON files as they grow. Lines
/// present at start are skipped; a file that shrinks (rotated or truncated) is read again from its start;
/// a malformed line is counted and logged with its line number and the stream goes on.
/// </summary>
internal sealed partial class FileTailSource(IStore store, IEventBus bus, DetectionOptions options, TimeProvider time, ILogger<FileTailSource> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tail = options.FileTail;
        var tenant = await BatchingPublisher.ResolveTenantAsync(store, tail.Tenant, "Detection:FileTail:Tenant", stoppingToken).ConfigureAwait(false);
        await using var publisher = new BatchingPublisher(bus, tenant, "filetail", options.BatchSize, time);
        publisher.Start();
        var files = new List<TailedFile>();
        foreach (var path in tail.Paths)
        {
            files.Add(new TailedFile(path, File.Exists(path) ? new FileInfo(path).Length : 0));
        }

        var readerOptions = new EventReaderOptions { MaxEventBytes = options.MaxEventBytes, MaxDepth = options.MaxEventDepth };
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var file in files)
            {
                foreach (var line in file.ReadNewLines(options.MaxEventBytes))
                {
                    foreach (var record in JsonEventReader.Read(line.Bytes, readerOptions))
                    {
                        if (record.IsError)
                        {
                            IngestMetrics.Record(new IngestResult(0, 1, [], false), "filetail");
                            LogRejected(logger, file.Path, line.Number, record.Error!);
                        }
                        else
                        {
                            await publisher.WriteAsync(record.Payload, stoppingToken).ConfigureAwait(false);
                        }
                    }
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(10, tail.PollMilliseconds)), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning, Message = "File tail {Path} line {Line} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string path, long line, string reason);

    internal readonly record struct TailLine(long Number, byte[] Bytes);

    /// <summary>One followed file: the position read so far and the unfinished last line.</summary>
    internal sealed class TailedFile(string path, long start)
    {
        private long _position = start;
        private long _line;
        private readonly ArrayBufferWriter<byte> _partial = new();

        public string Path => path;

        public List<TailLine> ReadNewLines(int maxLineBytes)
        {
            var lines = new List<TailLine>();
            if (!File.Exists(path))
            {
                return lines;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < _position)
            {
                // Truncated or replaced by rotation: start over.
                _position = 0;
                _line = 0;
                _partial.ResetWrittenCount();
            }

            stream.Position = _position;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                var span = buffer.AsSpan(0, n);
                int nl;
                while ((nl = span.IndexOf((byte)'\n')) >= 0)
                {
                    if (_partial.WrittenCount + nl <= maxLineBytes)
                    {
                        _partial.Write(span[..nl]);
                    }

                    _line++;
                    var bytes = _partial.WrittenSpan.ToArray();
                    if (bytes.AsSpan().Trim(" \r\t"u8).Length > 0)
                    {
                        lines.Add(new TailLine(_line, bytes));
                    }

                    _partial.ResetWrittenCount();
                    span = span[(nl + 1)..];
                }

                if (_partial.WrittenCount + span.Length <= maxLineBytes + 1)
                {
                    _partial.Write(span);
                }
            }

            _position = stream.Position;
            return lines;
        }
    }
}
