using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>
/// MatMul A(..., n, k) x B(..., k, m): dA = dY B^T and dB = A^T dY, summed over broadcast batch
/// axes. 2-D x 2-D uses Gemm with transposed operands (no Transpose nodes); an N-D input times a
/// 2-D weight folds the batch into the GEMM for dB. 1-D operands are treated as a row (A) or a
/// column (B) as numpy does.
/// </summary>
internal sealed class MatMulRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[2];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        bool needA = ctx.NeedsGradient(a), needB = ctx.NeedsGradient(b);
        if (!needA && !needB) return result;

        var aShape = ctx.ShapeOf(a) ?? throw new GradientException($"MatMul '{node.Name}': the rank of '{a.Name}' is unknown");
        var bShape = ctx.ShapeOf(b) ?? throw new GradientException($"MatMul '{node.Name}': the rank of '{b.Name}' is unknown");
        var yShape = ctx.ShapeOf(node.Outputs[0]);
        bool aVector = aShape.Rank == 1, bVector = bShape.Rank == 1;

        // Promote vectors to matrices; the gradient of the promoted output gets the dropped axes back.
        var a2 = aVector ? ctx.Unsqueeze(a, 0) : a;
        var b2 = bVector ? ctx.Unsqueeze(b, 1) : b;
        var a2Shape = aVector ? new Shape(new[] { Dim.Known(1), aShape[0] }) : aShape;
        var b2Shape = bVector ? new Shape(new[] { bShape[0], Dim.Known(1) }) : bShape;
        if (aVector) a2.Shape = a2Shape;
        if (bVector) b2.Shape = b2Shape;
        var dy2 = dy;
        if (bVector) dy2 = ctx.Unsqueeze(dy2, -1);
        if (aVector) dy2 = ctx.Unsqueeze(dy2, -2);
        int ra = a2Shape.Rank, rb = b2Shape.Rank;
        int batchRank = Math.Max(ra, rb) - 2;
        Shape? y2Shape = null;
        if (yShape is not null && !aVector && !bVector) y2Shape = yShape;
        else if (yShape is not null)
        {
            var dims = yShape.Dims.ToList();
            if (bVector) dims.Add(Dim.Known(1));
            if (aVector) dims.Insert(dims.Count - 1, Dim.Known(1));
            y2Shape = new Shape(dims);
        }

        Value? da = null, db = null;
        if (ra == 2 && rb == 2)
        {
            if (needA) da = ctx.Op("Gemm", [dy2, b2], Attribute.Int("transB", 1));
            if (needB) db = ctx.Op("Gemm", [a2, dy2], Attribute.Int("transA", 1));
        }
        else
        {
            if (needA)
            {
                var product = ctx.Op("MatMul", [dy2, ctx.Transpose(b2, SwapLast(rb))]);
                da = ra < rb || HasBatchBroadcast(a2Shape, y2Shape)
                    ? ctx.ReduceToShapeOf(product, GradShape(y2Shape, batchRank, a2Shape), a2)
                    : product;
            }
            if (needB)
            {
                if (rb == 2 && b2Shape[0].Value is { } k && b2Shape[1].Value is { } m)
                {
                    var aFlat = ctx.Reshape(a2, -1, k);
                    var dyFlat = ctx.Reshape(dy2, -1, m);
                    db = ctx.Op("Gemm", [aFlat, dyFlat], Attribute.Int("transA", 1));
                }
                else
                {
                    var product = ctx.Op("MatMul", [ctx.Transpose(a2, SwapLast(ra)), dy2]);
                    db = ctx.ReduceToShapeOf(product, GradShape(y2Shape, batchRank, b2Shape), b2);
                }
            }
        }
        if (da is not null) result[0] = aVector ? ctx.Squeeze(da, 0) : da;
        if (db is not null) result[1] = bVector ? ctx.Squeeze(db, 1) : db;
        return result;
    }

    private static long[] SwapLast(int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[rank - 2], perm[rank - 1]) = (perm[rank - 1], perm[rank - 2]);
        return perm;
    }

    /// <summary>The shape of a MatMul product that has y's batch axes and the operand's matrix axes.</summary>
    private static Shape? GradShape(Shape? yShape, int batchRank, Shape operand)
    {
        if (yShape is null) return null;
        var dims = yShape.Dims.Take(batchRank).ToList();
        dims.Add(operand[operand.Rank - 2]);
        dims.Add(operand[operand.Rank - 1]);
        return new Shape(dims);
    }

    /// <summary>True when the operand's batch axes might be smaller than the output's (size-1 axes).</summary>
    private static bool HasBatchBroadcast(Shape operand, Shape? yShape)
    {
        if (yShape is null) return true;
        for (int i = 0; i < operand.Rank - 2; i++)
        {
            var d = operand[i];
            var yd = yShape[yShape.Rank - operand.Rank + i];
            if (!(d.Equals(yd) && (d.IsKnown || d.Symbol is not null))) return true;
        }
        return false;
    }
}

/// <summary>
/// Gemm Y = alpha op(A) op(B) + beta C. Each operand's gradient is another Gemm with the
/// transposition flags chosen so no Transpose node is needed; C's is beta dY summed over its
/// broadcast axes.
/// </summary>
internal sealed class GemmRule : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is not { } dy) return result;
        var a = node.RequireInput(0);
        var b = node.RequireInput(1);
        float alpha = node.Attributes.GetFloat("alpha", 1f), beta = node.Attributes.GetFloat("beta", 1f);
        bool transA = node.Attributes.GetInt("transA", 0) != 0, transB = node.Attributes.GetInt("transB", 0) != 0;

        if (ctx.NeedsGradient(a))
        {
            result[0] = transA
                ? Gemm(ctx, b, dy, alpha, transB, true)
                : Gemm(ctx, dy, b, alpha, false, !transB);
        }
        if (ctx.NeedsGradient(b))
        {
            result[1] = transB
                ? Gemm(ctx, dy, a, alpha, true, transA)
                : Gemm(ctx, a, dy, alpha, !transA, false);
        }
        if (node.Input(2) is { } c && ctx.NeedsGradient(c))
            result[2] = ctx.Scale(Broadcast.ToOperand(ctx, node, dy, c), beta);
        return result;
    }

    private static Value Gemm(GradientContext ctx, Value a, Value b, float alpha, bool transA, bool transB)
    {
        var attributes = new List<Attribute>();
        if (alpha != 1f) attributes.Add(Attribute.Float("alpha", alpha));
        if (transA) attributes.Add(Attribute.Int("transA", 1));
        if (transB) attributes.Add(Attribute.Int("transB", 1));
        return ctx.Op("Gemm", [a, b], attributes.ToArray());
    }
}
