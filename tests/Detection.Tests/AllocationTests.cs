using McpSecurity.Detection.Runner;

namespace McpSecurity.Detection.Tests;

/// <summary>Tests that measure allocation run alone: a regex used by two threads at once rents a second runner, which would be counted here.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public sealed class AllocationCollection;

/// <summary>The match path allocates nothing per event once warm.</summary>
[Collection(nameof(AllocationCollection))]
public sealed class AllocationTests(SigmaHqFixture fixture)
{
    [Fact]
    public void Evaluating_regression_events_against_all_rules_does_not_allocate()
    {
        var events = fixture.Cases.SelectMany(c => EventStreamReader.Split(File.ReadAllBytes(c.EventsFile))).ToArray();
        var sink = new CountingMatchSink();
        foreach (var ev in events)
        {
            fixture.Engine.Evaluate(new SecurityEventView(ev), sink);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 3; round++)
        {
            foreach (var ev in events)
            {
                fixture.Engine.Evaluate(new SecurityEventView(ev), sink);
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Current.TestOutputHelper!.WriteLine($"{allocated} bytes over {3 * events.Length} evaluations, {sink.Count} matches");
        Assert.True(sink.Count > 0);
        Assert.Equal(0, allocated);
    }
}

/// <summary>Prepared events evaluate without allocating once warm; alone, like every allocation test.</summary>
[Collection(nameof(AllocationCollection))]
public sealed class PreparedEventAllocationTests(SigmaHqFixture fixture)
{
    private static IEnumerable<ReadOnlyMemory<byte>> RegressionEvents(SigmaHqFixture fixture) =>
        fixture.Cases.SelectMany(c => EventStreamReader.Split(File.ReadAllBytes(c.EventsFile)));

    [Fact]
    public void Evaluating_prepared_events_does_not_allocate()
    {
        var prepared = RegressionEvents(fixture).Select(e => fixture.Engine.Prepare(new SecurityEventView(e))!).ToArray();
        var sink = new CountingMatchSink();
        foreach (var ev in prepared)
        {
            fixture.Engine.Evaluate(ev, sink);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 3; round++)
        {
            foreach (var ev in prepared)
            {
                fixture.Engine.Evaluate(ev, sink);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sink.Count > 0);
    }
}
