"""Exports torchvision models to ONNX with Debian's torch (run with /usr/bin/python3).

Usage: /usr/bin/python3 tools/export_torchvision.py OUT_DIR NAME [NAME ...]

Weights are random but seeded (torch.manual_seed(0)): no network is reachable for pretrained
weights, and what the tests check (round trips, exact pruning) does not depend on training.
Models are exported in eval mode at opset 13 with a dynamic batch axis, as users export them;
torch folds BatchNorm into the convolutions then.
"""
import os
import sys

import torch
import torchvision


def export(name: str, out_dir: str) -> str:
    path = os.path.join(out_dir, f"{name}.onnx")
    if os.path.exists(path):
        return path
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(num_classes=1000).eval()
    size = 299 if name.startswith("inception") else 224
    dummy = torch.randn(1, 3, size, size)
    tmp = path + ".tmp"
    torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    os.replace(tmp, path)
    return path


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name in sys.argv[2:]:
        print(export(name, out_dir))


if __name__ == "__main__":
    main()
