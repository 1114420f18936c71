using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>
/// The ridge least-squares problem min ||A S − Y||² + λ ||S_w||² of one layer group, kept as its
/// normal equations (AᵀA, AᵀY, ΣY²) so rows can stream in batch by batch and only columns²
/// numbers are ever held, however many rows are sampled. The products are column dot products
/// (TensorPrimitives, SIMD) over each batch's rows, summed in double across batches: several
/// times faster than MathNet's managed matrix product here; MathNet does the Cholesky solve.
/// </summary>
internal sealed class NormalEquations(int columns, int outputs, int weightColumns)
{
    private readonly double[,] _gram = new double[columns, columns];
    private readonly double[,] _cross = new double[columns, outputs];
    private double _targetSquares;

    public long Rows { get; private set; }

    /// <summary>Adds <paramref name="rows"/> rows given column by column: column c of A is
    /// <c>inputs[c*rows .. (c+1)*rows)</c>, column o of Y is <c>targets[o*rows ..]</c>.</summary>
    public void Add(float[] inputs, float[] targets, int rows)
    {
        var a = inputs.AsSpan(0, columns * rows);
        var y = targets.AsSpan(0, outputs * rows);
        for (int i = 0; i < columns; i++)
        {
            var ai = a.Slice(i * rows, rows);
            for (int j = i; j < columns; j++)
            {
                double d = TensorPrimitives.Dot(ai, a.Slice(j * rows, rows));
                _gram[i, j] += d;
                if (j != i) _gram[j, i] += d;
            }
            for (int o = 0; o < outputs; o++) _cross[i, o] += TensorPrimitives.Dot(ai, y.Slice(o * rows, rows));
        }
        for (int o = 0; o < outputs; o++)
        {
            var yo = y.Slice(o * rows, rows);
            _targetSquares += TensorPrimitives.Dot(yo, yo);
        }
        Rows += rows;
    }

    /// <summary>
    /// The ridge solution (columns × outputs). λ is <paramref name="ridge"/> times the mean diagonal
    /// of AᵀA over the weight columns, so it scales with the activations; the bias column is not
    /// penalised. Null when the inputs were all zero (nothing to fit).
    /// </summary>
    public double[,]? Solve(double ridge)
    {
        double trace = 0;
        for (int i = 0; i < weightColumns; i++) trace += _gram[i, i];
        if (trace <= 0 || Rows == 0) return null;
        var regularised = Matrix<double>.Build.DenseOfArray(_gram);
        double lambda = ridge * trace / weightColumns;
        for (int i = 0; i < weightColumns; i++) regularised[i, i] += lambda;
        var cross = Matrix<double>.Build.DenseOfArray(_cross);
        Matrix<double> solution;
        try { solution = regularised.Cholesky().Solve(cross); }
        catch (ArgumentException) { solution = regularised.Svd().Solve(cross); } // not positive definite: λ = 0 asked and A rank-deficient
        return solution.ToArray();
    }

    /// <summary>||A S − Y||² / ||Y||² for a solution S: how far the layer is from the original's output.</summary>
    public double RelativeError(double[,] solution)
    {
        if (_targetSquares == 0) return 0;
        double residual = _targetSquares;
        for (int o = 0; o < outputs; o++)
            for (int i = 0; i < columns; i++)
            {
                double si = solution[i, o];
                if (si == 0) continue;
                residual -= 2 * si * _cross[i, o];
                double g = 0;
                for (int j = 0; j < columns; j++) g += _gram[i, j] * solution[j, o];
                residual += si * g;
            }
        return Math.Max(0, residual) / _targetSquares;
    }
}
