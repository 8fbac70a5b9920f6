namespace McpSecurity.Detection.Engine;

/// <summary>
/// A counter updated from many threads without sharing a cache line: each thread adds to its own stripe
/// (chosen by managed thread id), and reads sum the stripes.
/// </summary>
internal sealed class StripedCounter
{
    private const int Stripes = 64;
    private const int Pad = 8; // 8 longs = one 64-byte cache line per stripe

    private readonly long[] _cells = new long[Stripes * Pad];

    public void Increment() => Interlocked.Increment(ref _cells[Slot()]);

    public void Add(long value) => Interlocked.Add(ref _cells[Slot()], value);

    public long Sum()
    {
        long total = 0;
        for (var i = 0; i < Stripes; i++)
        {
            total += Interlocked.Read(ref _cells[i * Pad]);
        }

        return total;
    }

    private static int Slot() => (Environment.CurrentManagedThreadId & (Stripes - 1)) * Pad;
}
