using System.Numerics;

namespace McpSecurity.Detection.Engine;

/// <summary>
/// An array of counters (the engine's totals, one per rule) updated from many threads: each thread adds to its own
/// copy of the array, so threads counting the same things do not pass cache lines back and forth; a read sums the
/// copies.
/// </summary>
internal sealed class StripedCounterArray
{
    /// <summary>Copies: the core count rounded up to a power of two, at most 16 (threads beyond share copies).</summary>
    private static readonly int StripeCount = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 16));

    /// <summary>Counters past the end of each copy, so that no two copies share a cache line.</summary>
    private const int Pad = 8;

    /// <summary>The calling thread's copy number plus one (0 until it first counts).</summary>
    [ThreadStatic]
    private static int _threadStripe;

    private static int _nextStripe;

    private readonly long[]?[] _stripes = new long[StripeCount][];
    private readonly int _length;

    public StripedCounterArray(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
    }

    public void Increment(int index) => Interlocked.Increment(ref Stripe()[index]);

    public void Add(int index, long value) => Interlocked.Add(ref Stripe()[index], value);

    public long Sum(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_length, nameof(index));
        long total = 0;
        for (var k = 0; k < _stripes.Length; k++)
        {
            if (Volatile.Read(ref _stripes[k]) is { } cells)
            {
                total += Interlocked.Read(ref cells[index]);
            }
        }

        return total;
    }

    private long[] Stripe()
    {
        var slot = _threadStripe;
        if (slot == 0)
        {
            _threadStripe = slot = Interlocked.Increment(ref _nextStripe);
        }

        var k = (slot - 1) & (StripeCount - 1);
        return Volatile.Read(ref _stripes[k]) ?? Create(k);
    }

    private long[] Create(int k)
    {
        Interlocked.CompareExchange(ref _stripes[k], new long[_length + Pad], null);
        return _stripes[k]!;
    }
}
