"""Exports torchvision models to ONNX with Debian's torch (run with /usr/bin/python3).

Usage: /usr/bin/python3 tools/export_torchvision.py OUT_DIR NAME [NAME ...]
       /usr/bin/python3 tools/export_torchvision.py OUT_DIR coverage   (every model in COVERAGE)

Weights are random but seeded (torch.manual_seed(0)): no network is reachable for pretrained
weights, and what the tests check (round trips, exact pruning) does not depend on training.
Models are exported in eval mode at opset 13 with a dynamic batch axis, as users export them;
torch folds BatchNorm into the convolutions then. A model already in OUT_DIR is not exported
again; a file is written under a temporary name and renamed, so an interrupted export leaves
nothing behind.
"""
import os
import sys
import warnings

import torch
import torchvision

# The torchvision models of issue 3's coverage table.
COVERAGE = [
    "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "mobilenet_v2", "mobilenet_v3_small",
    "efficientnet_b0", "densenet121", "shufflenet_v2_x1_0", "squeezenet1_1", "googlenet", "mnasnet1_0",
    "regnet_x_400mf", "regnet_y_400mf", "vgg11_bn", "alexnet",
]

# Constructor arguments a model needs to be built without pretrained weights. Without them,
# googlenet and inception_v3 warn that init_weights will default to True and build auxiliary
# classifiers that eval mode never runs.
KWARGS = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}


def export(name: str, out_dir: str) -> str:
    path = os.path.join(out_dir, f"{name}.onnx")
    if os.path.exists(path):
        return path
    torch.manual_seed(0)
    kwargs = {"num_classes": 1000, **KWARGS.get(name, {})}
    model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
    size = 299 if name.startswith("inception") else 224
    dummy = torch.randn(1, 3, size, size)
    tmp = path + ".tmp"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    names = []
    for arg in sys.argv[2:]:
        names.extend(COVERAGE if arg == "coverage" else [arg])
    for name in names:
        print(export(name, out_dir), flush=True)


if __name__ == "__main__":
    main()
