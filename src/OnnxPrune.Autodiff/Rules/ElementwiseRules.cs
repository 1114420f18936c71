using OnnxPrune.IR;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>Shared helper: a gradient of the output's (broadcast) shape, summed to an operand's shape.</summary>
internal static class Broadcast
{
    public static Value ToOperand(GradientContext ctx, GradNode node, Value grad, Value operand) =>
        ctx.ReduceToShapeOf(grad, ctx.ShapeOf(node.Outputs[0]), operand);
}

/// <summary>Add: both operands get dy; Sub: the second gets -dy. Broadcast axes are summed.</summary>
internal sealed class AddSubRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        if (ctx.NeedsGradient(a)) result[0] = Broadcast.ToOperand(ctx, node, dy, a);
        if (ctx.NeedsGradient(b))
        {
            var db = Broadcast.ToOperand(ctx, node, dy, b);
            result[1] = node.OpType == "Sub" ? ctx.Neg(db) : db;
        }
        return result;
    }
}

/// <summary>Mul: da = dy * b, db = dy * a, each summed over its broadcast axes.</summary>
internal sealed class MulRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        if (ctx.NeedsGradient(a)) result[0] = Broadcast.ToOperand(ctx, node, ctx.Mul(dy, b), a);
        if (ctx.NeedsGradient(b)) result[1] = Broadcast.ToOperand(ctx, node, ctx.Mul(dy, a), b);
        return result;
    }
}

/// <summary>Div y = a / b: da = dy / b, db = -(dy / b) * y.</summary>
internal sealed class DivRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        if (!ctx.NeedsGradient(a) && !ctx.NeedsGradient(b)) return result;
        var quotient = ctx.Div(dy, b);
        if (ctx.NeedsGradient(a)) result[0] = Broadcast.ToOperand(ctx, node, quotient, a);
        if (ctx.NeedsGradient(b)) result[1] = ctx.Neg(Broadcast.ToOperand(ctx, node, ctx.Mul(quotient, node.Outputs[0]), b));
        return result;
    }
}

/// <summary>Variadic Sum: every operand gets dy summed to its shape.</summary>
internal sealed class SumRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        for (int i = 0; i < node.Inputs.Count; i++)
            if (node.Inputs[i] is { } x && ctx.NeedsGradient(x)) result[i] = Broadcast.ToOperand(ctx, node, dy, x);
        return result;
    }
}

/// <summary>Variadic Mean: every operand gets dY / (number of operands), summed to its shape.</summary>
internal sealed class MeanRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var share = ctx.Scale(dy, 1.0 / node.Inputs.Count);
        for (int i = 0; i < node.Inputs.Count; i++)
            if (node.Inputs[i] is { } x && ctx.NeedsGradient(x)) result[i] = Broadcast.ToOperand(ctx, node, share, x);
        return result;
    }
}

/// <summary>Variadic Max/Min: an operand gets dY where it equals the result (ties: each tied
/// operand gets it).</summary>
internal sealed class MaxMinRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var y = node.Outputs[0];
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i] is not { } x || !ctx.NeedsGradient(x)) continue;
            var chosen = ctx.KeepWhere(ctx.Op("Equal", [x, y]), dy);
            result[i] = Broadcast.ToOperand(ctx, node, chosen, x);
        }
        return result;
    }
}

/// <summary>Pow y = a^b: da = dy * b * a^(b-1), db = dy * y * ln(a).</summary>
internal sealed class PowRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        if (ctx.NeedsGradient(a))
        {
            Value local;
            if (ctx.TryGetDoubles(b, out var e) && e.Length == 1)
            {
                local = e[0] == 2 ? ctx.Scale(a, 2)
                    : ctx.Scale(ctx.Op("Pow", [a, ctx.Scalar(e[0] - 1, ctx.TypeOf(a))]), e[0]);
            }
            else
            {
                var bCast = ctx.Cast(b, ctx.TypeOf(a));
                local = ctx.Mul(bCast, ctx.Op("Pow", [a, ctx.Sub(bCast, ctx.Scalar(1, ctx.TypeOf(a)))]));
            }
            result[0] = Broadcast.ToOperand(ctx, node, ctx.Mul(dy, local), a);
        }
        if (ctx.NeedsGradient(b))
            result[1] = Broadcast.ToOperand(ctx, node, ctx.Mul(ctx.Mul(dy, node.Outputs[0]), ctx.Op("Log", [a])), b);
        return result;
    }
}

/// <summary>Where(cond, X, Y): X gets dy where cond holds, Y elsewhere.</summary>
internal sealed class WhereRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var condition = node.RequireInput(0);
        var zero = ctx.Zero(dy);
        if (node.Input(1) is { } x && ctx.NeedsGradient(x))
            result[1] = Broadcast.ToOperand(ctx, node, ctx.Where(condition, dy, zero), x);
        if (node.Input(2) is { } y && ctx.NeedsGradient(y))
            result[2] = Broadcast.ToOperand(ctx, node, ctx.Where(condition, zero, dy), y);
        return result;
    }
}

/// <summary>PRelu y = x &gt; 0 ? x : slope * x (slope broadcast to x).</summary>
internal sealed class PReluRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var x = node.RequireInput(0);
        var slope = node.RequireInput(1);
        var zero = ctx.Zero(dy);
        var positive = ctx.Op("Greater", [x, zero]);
        if (ctx.NeedsGradient(x)) result[0] = Broadcast.ToOperand(ctx, node, ctx.Where(positive, dy, ctx.Mul(dy, slope)), x);
        if (ctx.NeedsGradient(slope)) result[1] = Broadcast.ToOperand(ctx, node, ctx.Where(positive, zero, ctx.Mul(dy, x)), slope);
        return result;
    }
}
