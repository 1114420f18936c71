#!/usr/bin/python3
"""Writes a model of about 3 GB of float32 weights with external data, for big-model.sh.

x [1, H] -> Gemm H->H -> Relu -> Gemm H->H -> Relu -> Gemm H->H -> Relu -> Gemm H->10 -> y, with
H = 16384: three 1 GiB weights (each under protobuf's and .NET's 2 GB array limits; together over
2 GB, so the model only exists with external data). The weights are written in 64 MB chunks from
a seeded generator, so writing the model needs little memory and gives the same bytes every time.
Usage: make-big-model.py OUT.onnx [HIDDEN]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def main():
    out = os.path.abspath(sys.argv[1])
    hidden = int(sys.argv[2]) if len(sys.argv) > 2 else 16384
    data_name = os.path.basename(out) + ".data"
    data_path = os.path.join(os.path.dirname(out), data_name)
    rng = np.random.default_rng(20261205)
    initializers = []

    with open(data_path + ".tmp", "wb") as data:
        def external(name, rows, cols):
            # Rows in chunks: scaled so activations keep their size through the layers.
            offset = data.tell()
            scale = np.float32(1.0 / np.sqrt(cols))
            step = max(1, (64 << 20) // (4 * cols))
            for start in range(0, rows, step):
                n = min(step, rows - start)
                data.write((rng.standard_normal((n, cols), dtype=np.float32) * scale).tobytes())
            t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[rows, cols] if cols > 1 else [rows])
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(data.tell() - offset))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            initializers.append(t)

        nodes = []
        x = "x"
        for i, (rows, cols) in enumerate([(hidden, hidden)] * 3 + [(10, hidden)]):
            external(f"w{i}", rows, cols)
            external(f"b{i}", rows, 1)
            y = "y" if rows == 10 else f"h{i}"
            nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], name=f"fc{i}", transB=1))
            if rows != 10:
                nodes.append(helper.make_node("Relu", [y], [f"r{i}"], name=f"relu{i}"))
                x = f"r{i}"

    graph = helper.make_graph(nodes, "big_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, hidden])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnxprune big-model benchmark")
    model.ir_version = 8
    with open(out + ".tmp", "wb") as f:
        f.write(model.SerializeToString())
    os.replace(data_path + ".tmp", data_path)
    os.replace(out + ".tmp", out)
    print(f"{out}: {os.path.getsize(data_path)} bytes of weights in {data_name}")


if __name__ == "__main__":
    main()
