namespace OnnxPrune.IR.ShapeInference;

/// <summary>Rules for element-wise operators: unary maps, numpy-broadcasting binary and variadic
/// operators, comparisons, Where, Cast, and the quantization maps. Where the inputs are known
/// small constants the rules also compute the values.</summary>
internal static class ElementwiseRules
{
    /// <summary>Output 0 has input 0's type and shape.</summary>
    public static void SameAsInput(InferenceContext ctx) => ctx.SameAsInput(0, 0);

    /// <summary>Output 0 has input 0's shape and bool elements (IsNaN, IsInf).</summary>
    public static void BoolOfInput(InferenceContext ctx) => ctx.SetOutput(0, DataType.Bool, ctx.InShape(0));

    public static void Identity(InferenceContext ctx)
    {
        ctx.SameAsInput(0, 0);
        if (ctx.InConst(0) is { } c) ctx.SetConst(0, c);
        else if (ctx.InDims(0) is { } d) ctx.SetDims(0, ctx.InType(0), d);
    }

    public static Rule Unary(Func<long, long>? intOp, Func<double, double>? realOp) => ctx =>
    {
        ctx.SameAsInput(0, 0);
        if (ctx.InConst(0) is not { } c) return;
        if (c.Ints is { } ints && intOp is not null)
            ctx.SetConst(0, ConstTensor.FromInts(c.Type, c.Dims, ints.Select(intOp).ToArray()));
        else if (c.Reals is { } reals && realOp is not null)
            ctx.SetConst(0, ConstTensor.FromReals(c.Type, c.Dims, reals.Select(realOp).ToArray()));
    };

    public static void Not(InferenceContext ctx)
    {
        ctx.SetOutput(0, DataType.Bool, ctx.InShape(0));
        if (ctx.InConst(0) is { Ints: { } ints } c)
            ctx.SetConst(0, ConstTensor.FromInts(DataType.Bool, c.Dims, ints.Select(v => v == 0 ? 1L : 0L).ToArray()));
    }

    public static void Dropout(InferenceContext ctx)
    {
        ctx.SameAsInput(0, 0);
        // The mask is bool from opset 10; before that it had the data's type.
        ctx.SetOutput(1, ctx.Opset >= 10 ? DataType.Bool : ctx.InType(0), ctx.InShape(0));
    }

    public static void Cast(InferenceContext ctx)
    {
        var to = ctx.Attr("to") switch
        {
            { Kind: AttributeKind.Int } a => (DataType)a.AsInt(),
            { Kind: AttributeKind.String } a => Enum.TryParse<DataType>(a.AsString(), ignoreCase: true, out var t) ? t : DataType.Undefined,
            _ => DataType.Undefined,
        };
        if (!DataTypes.IsKnown(to)) to = DataType.Undefined;
        CastTo(ctx, to);
    }

    public static void CastLike(InferenceContext ctx) => CastTo(ctx, ctx.InType(1));

    private static void CastTo(InferenceContext ctx, DataType to)
    {
        ctx.SetOutput(0, to, ctx.InShape(0));
        if (to == DataType.Undefined) return;
        if (ctx.InConst(0) is { } c && ConstTensor.Supports(to)) ctx.SetConst(0, c.CastTo(to));
        else if (ctx.InDims(0) is { } d && to is DataType.Int64 or DataType.Int32)
            ctx.SetDims(0, to, d);
    }

    public static void Clip(InferenceContext ctx)
    {
        ctx.SameAsInput(0, 0);
        if (ctx.InConst(0) is not { } c) return;
        double lo, hi;
        if (ctx.Opset < 11)
        {
            lo = ctx.Float("min", float.MinValue);
            hi = ctx.Float("max", float.MaxValue);
        }
        else
        {
            var min = ctx.HasInput(1) ? ctx.InConst(1) : null;
            var max = ctx.HasInput(2) ? ctx.InConst(2) : null;
            if ((ctx.HasInput(1) && min is null) || (ctx.HasInput(2) && max is null)) return;
            lo = min is { Count: 1 } ? min.Real(0) : double.NegativeInfinity;
            hi = max is { Count: 1 } ? max.Real(0) : double.PositiveInfinity;
        }
        var r = new double[c.Count];
        for (int i = 0; i < r.Length; i++) r[i] = Math.Min(Math.Max(c.Real(i), lo), hi);
        ctx.SetConst(0, ConstTensor.FromDoubles(c.Type, c.Dims, r));
    }

    /// <summary>PRelu's slope broadcasts to X (unidirectionally), so Y has X's shape.</summary>
    public static void PRelu(InferenceContext ctx) => ctx.SameAsInput(0, 0);

    // ---- broadcasting operators ----

    public enum Op
    {
        Add, Sub, Mul, Div, Mod, Pow, Max, Min, Equal, Less, Greater, LessOrEqual, GreaterOrEqual,
        And, Or, Xor, BitShift, BitwiseAnd, BitwiseOr, BitwiseXor,
    }

    private static bool IsComparison(Op op) => op is Op.Equal or Op.Less or Op.Greater or Op.LessOrEqual
        or Op.GreaterOrEqual or Op.And or Op.Or or Op.Xor;

    /// <summary>A two-input operator with numpy broadcasting. Before opset 7 broadcasting was
    /// limited (attribute broadcast/axis) and the output had A's shape.</summary>
    public static Rule Binary(Op op, bool legacyBroadcastBefore7) => ctx =>
    {
        var outType = IsComparison(op) ? DataType.Bool : ctx.InType(0);
        bool legacy = legacyBroadcastBefore7 && ctx.Opset < 7;
        var shape = legacy ? ctx.InShape(0) : ShapeMath.Broadcast(ctx.InShape(0), ctx.InShape(1));
        if (legacy && ctx.Int("broadcast", 0) == 0 && ctx.InShape(0) is null) shape = ctx.InShape(1);
        ctx.SetOutput(0, outType, shape);

        // Decode the second operand only when the first is known (it is usually a weight).
        if (ctx.InConst(0) is { } a && ctx.InConst(1) is { } b)
        {
            if (legacy && !(b.Count == 1 || a.Dims.AsSpan().SequenceEqual(b.Dims))) return;
            var direction = ctx.String("direction", "LEFT");
            var r = Evaluate(op, a, b, outType, ctx.Int("fmod", 0), direction, ctx.MaxConstantElements);
            if (r is not null) ctx.SetConst(0, r);
            return;
        }
        if (op is Op.Add or Op.Sub or Op.Mul or Op.Div && ctx.InDims(0) is { } da && ctx.InDims(1) is { } db
            && DimArithmetic(op, da, db) is { } dr)
            ctx.SetDims(0, outType, dr);
    };

    /// <summary>Max, Min, Sum, Mean: any number of inputs, broadcast together.</summary>
    public static Rule Variadic(Op op, bool mean = false) => ctx =>
    {
        var shapes = new List<Shape?>();
        for (int i = 0; i < ctx.InputCount; i++) if (ctx.HasInput(i)) shapes.Add(ctx.InShape(i));
        var type = ctx.InType(0);
        ctx.SetOutput(0, type, ShapeMath.Broadcast(shapes));
        var consts = new List<ConstTensor>();
        for (int i = 0; i < ctx.InputCount; i++)
        {
            if (!ctx.HasInput(i)) continue;
            if (ctx.InConst(i) is not { } c) return;
            consts.Add(c);
        }
        if (consts.Count == 0) return;
        var acc = consts[0];
        for (int i = 1; i < consts.Count; i++)
        {
            var next = Evaluate(op, acc, consts[i], type, 0, "LEFT", ctx.MaxConstantElements);
            if (next is null) return;
            acc = next;
        }
        if (mean)
        {
            if (acc.Reals is null) return;
            acc = ConstTensor.FromReals(acc.Type, acc.Dims, acc.Reals.Select(v => v / consts.Count).ToArray());
        }
        ctx.SetConst(0, acc);
    };

    public static void Where(InferenceContext ctx)
    {
        ctx.SetOutput(0, ctx.InType(1), ShapeMath.Broadcast(ctx.InShape(0), ctx.InShape(1), ctx.InShape(2)));
        if (ctx.InConst(0) is not { Ints: not null } cond || ctx.InConst(1) is not { } x || ctx.InConst(2) is not { } y) return;
        if (x.IsIntegral != y.IsIntegral) return;
        var b = ConstOps.BroadcastOffsets(new[] { cond.Dims, x.Dims, y.Dims }, ctx.MaxConstantElements);
        if (b is not { } bo) return;
        int n = bo.Offsets[0].Length;
        if (x.Ints is not null)
        {
            var v = new long[n];
            for (int k = 0; k < n; k++) v[k] = cond.Ints![bo.Offsets[0][k]] != 0 ? x.Ints[bo.Offsets[1][k]] : y.Ints![bo.Offsets[2][k]];
            ctx.SetConst(0, ConstTensor.FromInts(x.Type, bo.Dims, v));
        }
        else
        {
            var v = new double[n];
            for (int k = 0; k < n; k++) v[k] = cond.Ints![bo.Offsets[0][k]] != 0 ? x.Reals![bo.Offsets[1][k]] : y.Reals![bo.Offsets[2][k]];
            ctx.SetConst(0, ConstTensor.FromReals(x.Type, bo.Dims, v));
        }
    }

    /// <summary>Evaluates a broadcasting binary operator on constants; null when the operands do
    /// not fit, an integer division by zero occurs, or the result is too big.</summary>
    internal static ConstTensor? Evaluate(Op op, ConstTensor a, ConstTensor b, DataType outType, long fmod, string direction, int max)
    {
        if (a.IsIntegral != b.IsIntegral && op != Op.Pow) return null;
        if (!ConstTensor.Supports(outType)) return null;
        var bo = ConstOps.BroadcastOffsets(new[] { a.Dims, b.Dims }, max);
        if (bo is not { } bc) return null;
        int n = bc.Offsets[0].Length;
        var ia = bc.Offsets[0];
        var ib = bc.Offsets[1];
        if (a.Ints is { } ai && b.Ints is { } bi)
        {
            var r = new long[n];
            for (int k = 0; k < n; k++)
            {
                if (IntOp(op, ai[ia[k]], bi[ib[k]], fmod, direction) is not { } v) return null;
                r[k] = v;
            }
            return ConstTensor.IsRealType(outType) ? ConstTensor.FromReals(outType, bc.Dims, r.Select(v => (double)v).ToArray())
                : ConstTensor.FromInts(outType, bc.Dims, r);
        }
        var rr = new double[n];
        for (int k = 0; k < n; k++)
        {
            if (RealOp(op, a.Real(ia[k]), b.Real(ib[k])) is not { } v) return null;
            rr[k] = v;
        }
        return ConstTensor.FromDoubles(outType, bc.Dims, rr);
    }

    private static long? IntOp(Op op, long x, long y, long fmod, string direction)
    {
        switch (op)
        {
            case Op.Add: return unchecked(x + y);
            case Op.Sub: return unchecked(x - y);
            case Op.Mul: return unchecked(x * y);
            case Op.Div: return y == 0 || (x == long.MinValue && y == -1) ? null : x / y;
            case Op.Mod:
                if (y == 0 || (x == long.MinValue && y == -1)) return null;
                var m = x % y;
                if (fmod == 0 && m != 0 && (m < 0) != (y < 0)) m += y;
                return m;
            case Op.Pow:
                if (y < 0) return null;
                long p = 1;
                for (long i = 0; i < y && i < 64; i++) p = unchecked(p * x);
                return y >= 64 && Math.Abs(x) > 1 ? null : p;
            case Op.Max: return Math.Max(x, y);
            case Op.Min: return Math.Min(x, y);
            case Op.Equal: return x == y ? 1 : 0;
            case Op.Less: return x < y ? 1 : 0;
            case Op.Greater: return x > y ? 1 : 0;
            case Op.LessOrEqual: return x <= y ? 1 : 0;
            case Op.GreaterOrEqual: return x >= y ? 1 : 0;
            case Op.And: return x != 0 && y != 0 ? 1 : 0;
            case Op.Or: return x != 0 || y != 0 ? 1 : 0;
            case Op.Xor: return (x != 0) != (y != 0) ? 1 : 0;
            case Op.BitwiseAnd: return x & y;
            case Op.BitwiseOr: return x | y;
            case Op.BitwiseXor: return x ^ y;
            case Op.BitShift:
                if (y < 0 || y >= 64) return 0;
                return direction == "RIGHT" ? (long)((ulong)x >> (int)y) : x << (int)y;
            default: return null;
        }
    }

    private static double? RealOp(Op op, double x, double y) => op switch
    {
        Op.Add => x + y,
        Op.Sub => x - y,
        Op.Mul => x * y,
        Op.Div => x / y,
        Op.Mod => x % y, // C fmod: the sign of the dividend (float Mod requires fmod=1)
        Op.Pow => Math.Pow(x, y),
        Op.Max => double.IsNaN(x) || double.IsNaN(y) ? double.NaN : Math.Max(x, y),
        Op.Min => double.IsNaN(x) || double.IsNaN(y) ? double.NaN : Math.Min(x, y),
        Op.Equal => x == y ? 1 : 0,
        Op.Less => x < y ? 1 : 0,
        Op.Greater => x > y ? 1 : 0,
        Op.LessOrEqual => x <= y ? 1 : 0,
        Op.GreaterOrEqual => x >= y ? 1 : 0,
        _ => null,
    };

    /// <summary>Element-wise arithmetic on shape values that may hold symbolic dims: known with
    /// known is computed, x+0, x-0, x*1, x/1 keep x, anything else is unknown.</summary>
    private static DimVector? DimArithmetic(Op op, DimVector a, DimVector b)
    {
        int na = a.Items.Length, nb = b.Items.Length;
        if (na != nb && na != 1 && nb != 1) return null;
        int n = Math.Max(na, nb);
        var r = new Dim[n];
        for (int i = 0; i < n; i++)
        {
            var x = a.Items[na == 1 ? 0 : i];
            var y = b.Items[nb == 1 ? 0 : i];
            if (x.IsKnown && y.IsKnown)
            {
                var v = IntOp(op, x.Value!.Value, y.Value!.Value, 0, "LEFT");
                r[i] = v is { } k ? Dim.Known(k) : Dim.Unknown;
                continue;
            }
            r[i] = op switch
            {
                Op.Add when y.Value == 0 => x,
                Op.Add when x.Value == 0 => y,
                Op.Sub when y.Value == 0 => x,
                Op.Mul => ShapeMath.Multiply(x, y),
                Op.Div when y.Value == 1 => x,
                _ => Dim.Unknown,
            };
        }
        return new DimVector(r, a.IsScalar && b.IsScalar);
    }

    // ---- quantization ----

    public static void QuantizeLinear(InferenceContext ctx)
    {
        var type = ctx.HasInput(2) ? ctx.InType(2) : DataType.Undefined;
        if (type == DataType.Undefined)
        {
            var attr = (DataType)ctx.Int("output_dtype", 0);
            type = attr != DataType.Undefined && DataTypes.IsKnown(attr) ? attr : DataType.UInt8;
        }
        ctx.SetOutput(0, type, ctx.InShape(0));
    }

    public static void DequantizeLinear(InferenceContext ctx)
    {
        var type = ctx.InType(1);
        var attr = (DataType)ctx.Int("output_dtype", 0);
        if (attr != DataType.Undefined && DataTypes.IsKnown(attr)) type = attr;
        ctx.SetOutput(0, type == DataType.Undefined ? DataType.Float : type, ctx.InShape(0));
    }

    public static void DynamicQuantizeLinear(InferenceContext ctx)
    {
        ctx.SetOutput(0, DataType.UInt8, ctx.InShape(0));
        ctx.SetOutput(1, DataType.Float, Shape.Scalar);
        ctx.SetOutput(2, DataType.UInt8, Shape.Scalar);
    }

    /// <summary>Output 0 has input 0's shape and the type named by attribute "dtype", else input 0's
    /// type (EyeLike, RandomNormalLike, RandomUniformLike, Bernoulli).</summary>
    public static void LikeWithDtype(InferenceContext ctx)
    {
        var t = (DataType)ctx.Int("dtype", 0);
        ctx.SetOutput(0, t != DataType.Undefined && DataTypes.IsKnown(t) ? t : ctx.InType(0), ctx.InShape(0));
    }
}
