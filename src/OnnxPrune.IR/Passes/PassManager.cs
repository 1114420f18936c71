namespace OnnxPrune.IR.Passes;

/// <summary>
/// Runs passes in order, repeating the list until no pass changes the model (or a round limit).
/// With verification on (tests), the verifier runs after every pass that reports a change, and a
/// failure names the pass and the passes that ran before it.
/// </summary>
public sealed class PassManager
{
    private readonly IReadOnlyList<IPass> _passes;

    public PassManager(IEnumerable<IPass> passes, bool verifyAfterEachPass = false, int maxRounds = 8)
    {
        _passes = passes.ToList();
        VerifyAfterEachPass = verifyAfterEachPass;
        MaxRounds = maxRounds;
    }

    public bool VerifyAfterEachPass { get; }
    public int MaxRounds { get; }

    /// <summary>Called after each pass with (pass, changed); instrumentation hangs off here.</summary>
    public event Action<IPass, bool>? AfterPass;

    /// <returns>true when any pass changed the model.</returns>
    public bool Run(Model model)
    {
        var history = new List<string>();
        bool any = false;
        for (int round = 0; round < MaxRounds; round++)
        {
            bool changed = false;
            foreach (var pass in _passes)
            {
                bool c = pass.Run(model);
                history.Add(pass.Name);
                AfterPass?.Invoke(pass, c);
                if (c && VerifyAfterEachPass)
                {
                    var problems = Verifier.Check(model.Graph);
                    if (problems.Count > 0)
                        throw new PassFailedException(pass.Name, history, problems);
                }
                changed |= c;
            }
            any |= changed;
            if (!changed) break;
        }
        return any;
    }
}

/// <summary>A pass left the graph in a state the verifier rejects.</summary>
public sealed class PassFailedException(string pass, IReadOnlyList<string> history, IReadOnlyList<string> problems)
    : Exception($"pass '{pass}' broke the graph (passes run: {string.Join(" -> ", history)}):\n  " + string.Join("\n  ", problems))
{
    public string Pass { get; } = pass;
    public IReadOnlyList<string> Problems { get; } = problems;
}
