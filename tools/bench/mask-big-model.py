#!/usr/bin/python3
"""Writes the masked original of a model from make-big-model.py, for big-model.sh's verify step.

The masked original is the original with the removed channels zeroed where they are produced (the
rows of each Gemm's weight and the entries of its bias, as ChannelAnalysis.ZeroInPlace does in the
exactness tests); `onnxprune verify MASKED PRUNED` then has ONNX Runtime run both on the same seeded
inputs. Which channels were kept is read from the pruned model itself, not from a plan: each pruned
row is found in the original by a key (its bias and its first weights, at the columns the previous
layer kept), the keys of the original must be unique, the kept rows must be increasing, and then
the whole pruned weight must equal original[kept rows][:, kept columns] exactly (checked in chunks)
-- so a pruned model that is not a slice of the original is refused here, before ORT runs.
Streaming: the original's data file is copied (in blocks) beside MASKED, the removed rows are zeroed
in place through a memory map, and weights are read from memory maps a chunk at a time, so the
memory used is tens of MB, not the 3.2 GB of weights.
Specific to make-big-model.py's chain (Gemm transB=1 -> Relu -> ... -> Gemm): the input columns of
layer i are the rows layer i-1 kept; the first layer keeps all its input columns.
Usage: mask-big-model.py BIG.onnx PRUNED.onnx MASKED.onnx
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

KEY_COLUMNS = 4
CHUNK_ROWS = 512


def array(tensor, folder, mode="r"):
    """The tensor's values: a memory map over its external data, or the inline values."""
    if tensor.data_location != TensorProto.EXTERNAL:
        return numpy_helper.to_array(tensor)
    assert tensor.data_type == TensorProto.FLOAT, tensor.name
    info = {e.key: e.value for e in tensor.external_data}
    shape = tuple(tensor.dims)
    assert int(info.get("length", 4 * int(np.prod(shape)))) == 4 * int(np.prod(shape)), tensor.name
    return np.memmap(os.path.join(folder, info["location"]), dtype="<f4", mode=mode,
                     offset=int(info.get("offset", 0)), shape=shape)


def main():
    big, pruned, masked = (os.path.abspath(p) for p in sys.argv[1:4])
    big_dir, pruned_dir, masked_dir = (os.path.dirname(p) for p in (big, pruned, masked))
    original = onnx.load(big, load_external_data=False)
    small = onnx.load(pruned, load_external_data=False)
    o_init = {t.name: t for t in original.graph.initializer}
    p_init = {t.name: t for t in small.graph.initializer}
    gemms = [n for n in original.graph.node if n.op_type == "Gemm"]
    p_gemms = [n for n in small.graph.node if n.op_type == "Gemm"]
    assert len(p_gemms) == len(gemms) and all(p.name == n.name for p, n in zip(p_gemms, gemms)), "not the same Gemm chain"

    removed = {}  # weight name, bias name -> removed rows
    kept_cols = None
    for node, p_node in zip(gemms, p_gemms):
        w_name, b_name = node.input[1], node.input[2]
        w, b = array(o_init[w_name], big_dir), array(o_init[b_name], big_dir)
        # The pruned tensors are renamed (w0 -> w0_pruned); the node's inputs say which they are.
        pw, pb = array(p_init[p_node.input[1]], pruned_dir), array(p_init[p_node.input[2]], pruned_dir)
        rows, cols = w.shape
        if kept_cols is None:
            kept_cols = np.arange(cols)
        assert pw.shape == (len(pb), len(kept_cols)), f"{w_name}: pruned {pw.shape}, kept columns {len(kept_cols)}"
        key_cols = kept_cols[:KEY_COLUMNS]
        keys = np.concatenate([np.asarray(b).reshape(-1, 1), np.asarray(w[:, key_cols])], axis=1)
        index = {k.tobytes(): r for r, k in enumerate(keys)}
        assert len(index) == rows, f"{w_name}: rows of the original are not told apart by {KEY_COLUMNS + 1} values"
        p_keys = np.concatenate([np.asarray(pb).reshape(-1, 1), np.asarray(pw[:, :len(key_cols)])], axis=1)
        kept = np.array([index[k.tobytes()] for k in p_keys])
        assert np.all(np.diff(kept) > 0), f"{w_name}: kept rows are not in order"
        assert np.array_equal(np.asarray(b)[kept], np.asarray(pb)), b_name
        for start in range(0, len(kept), CHUNK_ROWS):
            part = kept[start:start + CHUNK_ROWS]
            sliced = np.asarray(w[part[0]:part[-1] + 1])[part - part[0]][:, kept_cols]
            assert np.array_equal(sliced, np.asarray(pw[start:start + len(part)])), f"{w_name}: rows {start}.. differ"
        gone = np.setdiff1d(np.arange(rows), kept)
        removed[w_name], removed[b_name] = gone, gone
        print(f"{node.name}: kept {len(kept)} of {rows} channels (the pruned weight [{pw.shape[0]}x{pw.shape[1]}] "
              f"equals the original's kept rows and columns exactly)")
        kept_cols = kept
        del w, b, pw, pb

    # The masked original: the original's data copied beside MASKED, the removed rows zeroed in place.
    data_names = {e.value for t in original.graph.initializer for e in t.external_data if e.key == "location"}
    assert len(data_names) == 1, data_names
    masked_data = os.path.basename(masked) + ".data"
    with open(os.path.join(big_dir, data_names.pop()), "rb") as src, open(os.path.join(masked_dir, masked_data), "wb") as dst:
        shutil.copyfileobj(src, dst, 64 << 20)
    for t in original.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = masked_data
    for t in original.graph.initializer:
        gone = removed.get(t.name)
        if gone is None or len(gone) == 0:
            continue
        values = array(t, masked_dir, mode="r+")
        for start in range(0, len(gone), CHUNK_ROWS):
            values[gone[start:start + CHUNK_ROWS]] = 0
        values.flush()
        del values
    original.producer_name = "onnxprune mask-big-model.py (masked original)"
    with open(masked, "wb") as f:
        f.write(original.SerializeToString())
    print(f"{masked}: masked original ({sum(len(v) for k, v in removed.items() if k.startswith('w'))} channels zeroed)")


if __name__ == "__main__":
    main()
