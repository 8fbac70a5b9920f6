using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using McpSecurity.Ingestion.Events;

namespace McpSecurity.Ingestion.Tests.Events;

public sealed class SyslogListenerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Udp_DatagramIsParsedAndHandedToTheChannel()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        await using var listener = new SyslogListener(new SyslogListenerOptions { BindAddress = IPAddress.Loopback, Port = 0 }, channel.Writer);
        listener.Start();

        using var udp = new UdpClient(AddressFamily.InterNetwork);
        await udp.SendAsync(Encoding.UTF8.GetBytes("<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n"), listener.UdpEndPoint!, TestContext.Current.CancellationToken);

        var received = await ReadAsync(channel);
        Assert.Equal(SyslogTransport.Udp, received.Transport);
        Assert.Equal("mymachine", received.Message.Hostname);
        Assert.Equal("su", received.Message.AppName);
        Assert.Equal(" 'su root' failed", received.Message.Message);
        Assert.Equal(IPAddress.Loopback, received.Remote.Address);
    }

    [Fact]
    public async Task Tcp_OctetCountingAndLineFramingMixOnOneConnection()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        await using var listener = new SyslogListener(new SyslogListenerOptions { Port = 0, EnableUdp = false }, channel.Writer);
        listener.Start();
        var withNewline = "<165>1 2003-10-11T22:14:15.003Z host app - ID47 - first line\nstill the first message";
        var octet = Encoding.UTF8.GetBytes(withNewline);

        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(listener.TcpEndPoint!, TestContext.Current.CancellationToken);
            var stream = tcp.GetStream();
            var payload = Encoding.UTF8.GetBytes($"{octet.Length} ").Concat(octet)
                .Concat(Encoding.UTF8.GetBytes("<13>Feb  5 10:01:02 h2 tag: second\n<13>Feb  5 10:01:03 h3 tag: third"))
                .ToArray();
            foreach (var chunk in payload.Chunk(7))
            {
                await stream.WriteAsync(chunk, TestContext.Current.CancellationToken);
                await stream.FlushAsync(TestContext.Current.CancellationToken);
            }
        }

        var first = await ReadAsync(channel);
        var second = await ReadAsync(channel);
        var third = await ReadAsync(channel);
        Assert.Equal(SyslogFormat.Rfc5424, first.Message.Format);
        Assert.Equal("first line\nstill the first message", first.Message.Message);
        Assert.Equal("h2", second.Message.Hostname);
        Assert.Equal("h3", third.Message.Hostname);
        Assert.All([first, second, third], r => Assert.Equal(SyslogTransport.Tcp, r.Transport));
    }

    [Fact]
    public async Task Tcp_OverlongLineIsReportedAndTheConnectionGoesOn()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        var errors = new ConcurrentQueue<SyslogListenerError>();
        await using var listener = new SyslogListener(
            new SyslogListenerOptions { Port = 0, EnableUdp = false, MaxMessageBytes = 1024, OnError = errors.Enqueue }, channel.Writer);
        listener.Start();

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(listener.TcpEndPoint!, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes("<13>Feb  5 10:01:02 big tag: " + new string('x', 10_000) + "\n<13>Feb  5 10:01:03 small tag: ok\n"), TestContext.Current.CancellationToken);

        var received = await ReadAsync(channel);
        Assert.Equal("small", received.Message.Hostname);
        Assert.Contains(errors, e => e.Reason.Contains("MaxMessageBytes", StringComparison.Ordinal));
        Assert.True(listener.MessagesRejected >= 1);
    }

    [Fact]
    public async Task Tcp_OversizedOctetCountClosesTheConnection()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        var errors = new ConcurrentQueue<SyslogListenerError>();
        await using var listener = new SyslogListener(
            new SyslogListenerOptions { Port = 0, EnableUdp = false, MaxMessageBytes = 1024, OnError = errors.Enqueue }, channel.Writer);
        listener.Start();

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(listener.TcpEndPoint!, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync("999999 <13>x"u8.ToArray(), TestContext.Current.CancellationToken);

        var buffer = new byte[16];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Wait);
        var read = await stream.ReadAsync(buffer, timeout.Token);
        Assert.Equal(0, read);
        Assert.Contains(errors, e => e.Reason.Contains("announces 999999 bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailingCallback_IsReportedAndTheListenerKeepsGoing()
    {
        var errors = new ConcurrentQueue<SyslogListenerError>();
        var calls = 0;
        var done = new TaskCompletionSource();
        await using var listener = new SyslogListener(
            new SyslogListenerOptions { Port = 0, EnableTcp = false, OnError = errors.Enqueue },
            (_, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    throw new InvalidOperationException("boom");
                }

                done.TrySetResult();
                return ValueTask.CompletedTask;
            });
        listener.Start();

        using var udp = new UdpClient(AddressFamily.InterNetwork);
        await udp.SendAsync("<13>first"u8.ToArray(), listener.UdpEndPoint!, TestContext.Current.CancellationToken);
        await udp.SendAsync("<13>second"u8.ToArray(), listener.UdpEndPoint!, TestContext.Current.CancellationToken);

        await done.Task.WaitAsync(Wait, TestContext.Current.CancellationToken);
        Assert.Contains(errors, e => e.Reason.Contains("boom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_ClosesTheSockets()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        var listener = new SyslogListener(new SyslogListenerOptions { Port = 0 }, channel.Writer);
        listener.Start();
        var endPoint = listener.TcpEndPoint!;

        await listener.DisposeAsync();

        using var tcp = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(async () => await tcp.ConnectAsync(endPoint, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Options_AreValidated()
    {
        var channel = Channel.CreateUnbounded<SyslogReceived>();
        Assert.Throws<ArgumentException>(() => new SyslogListener(new SyslogListenerOptions { EnableTcp = false, EnableUdp = false }, channel.Writer));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyslogListener(new SyslogListenerOptions { Port = 70000 }, channel.Writer));
    }

    private static async Task<SyslogReceived> ReadAsync(Channel<SyslogReceived> channel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Wait);
        return await channel.Reader.ReadAsync(timeout.Token);
    }
}
