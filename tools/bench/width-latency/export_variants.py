"""Models for the width-latency benchmark (run with /usr/bin/python3, Debian's torch 1.13).

Usage:
  /usr/bin/python3 export_variants.py resnet56 OUT_DIR W1/W2/W3 [W1/W2/W3 ...]
      CIFAR-style ResNet-56 for a 1x28x28 input: a 3x3 stem conv (1 -> W1), three stages of
      9 basic blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, + shortcut, ReLU) at W1, W2, W3 channels
      on 28x28, 14x14 and 7x7, global average pooling and a linear layer to 10 classes.
      Shortcuts are projections (1x1 conv + BN) wherever the stride or the width changes, the
      same rule for every variant. Writes OUT_DIR/resnet56_W1-W2-W3.onnx.
  /usr/bin/python3 export_variants.py conv OUT_DIR [--depth D] SPATIAL FIRST:LAST[:STEP] [SPATIAL FIRST:LAST[:STEP] ...]
      One 3x3 conv layer, Cin = Cout = c, padding 1, stride 1, with bias and ReLU (a conv with its
      BN folded, as a pruned network has them), on a 1 x c x SPATIAL x SPATIAL input, for every
      c in FIRST..LAST (inclusive) by STEP. Writes OUT_DIR/conv3x3_s{SPATIAL}_c{c}.onnx.
      With --depth D > 1: a stack of D such layers, OUT_DIR/conv3x3_d{D}_s{SPATIAL}_c{c}.onnx
      (ONNX Runtime's layout reorders then happen once per D layers, as inside a network).

Every model: eval mode (BatchNorm folded by the export), random weights seeded with
torch.manual_seed(0) (latency does not depend on their values), opset 13, dynamic batch axis.
BatchNorm statistics are randomized too, so that folding produces non-trivial biases.
A model already present is not exported again. Prints each model's path.
"""
import os
import sys
import warnings

import torch
from torch import nn


def bn(c: int) -> nn.BatchNorm2d:
    b = nn.BatchNorm2d(c)
    with torch.no_grad():
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.1, 0.1)
        b.running_mean.uniform_(-0.1, 0.1)
        b.running_var.uniform_(0.5, 1.5)
    return b


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = bn(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet56(nn.Module):
    def __init__(self, widths, blocks_per_stage: int = 9, in_channels: int = 1, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), bn(widths[0]), nn.ReLU())
        layers, cin = [], widths[0]
        for stage, w in enumerate(widths):
            for i in range(blocks_per_stage):
                layers.append(BasicBlock(cin, w, 2 if (stage > 0 and i == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class ConvStack(nn.Module):
    def __init__(self, c: int, depth: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, 1, 1, bias=True) for _ in range(depth))

    def forward(self, x):
        for conv in self.convs:
            x = torch.relu(conv(x))
        return x


def save(model: nn.Module, dummy: torch.Tensor, path: str) -> str:
    if os.path.exists(path):
        return path
    tmp = path + ".tmp"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model.eval(), dummy, tmp, opset_version=13, input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def resnet56(out_dir: str, spec: str) -> str:
    widths = [int(w) for w in spec.split("/")]
    if len(widths) != 3 or min(widths) < 1:
        sys.exit(f"bad widths {spec!r}: expected W1/W2/W3")
    path = os.path.join(out_dir, "resnet56_{}.onnx".format("-".join(map(str, widths))))
    if os.path.exists(path):
        return path
    torch.manual_seed(0)
    return save(ResNet56(widths), torch.randn(1, 1, 28, 28), path)


def convs(out_dir: str, spatial: int, spec: str, depth: int) -> list:
    parts = [int(p) for p in spec.split(":")]
    first, last, step = (parts + [1])[:3] if len(parts) == 2 else parts
    paths = []
    for c in range(first, last + 1, step):
        prefix = "conv3x3" if depth == 1 else f"conv3x3_d{depth}"
        path = os.path.join(out_dir, f"{prefix}_s{spatial}_c{c}.onnx")
        if not os.path.exists(path):
            torch.manual_seed(0)
            save(ConvStack(c, depth), torch.randn(1, c, spatial, spatial), path)
        paths.append(path)
    return paths


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in ("resnet56", "conv"):
        sys.exit(__doc__)
    kind, out_dir, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    if kind == "resnet56":
        for spec in args:
            print(resnet56(out_dir, spec), flush=True)
    else:
        depth = 1
        if args[:1] == ["--depth"]:
            depth, args = int(args[1]), args[2:]
        if len(args) % 2 or depth < 1:
            sys.exit("conv: expected pairs SPATIAL FIRST:LAST[:STEP]")
        for i in range(0, len(args), 2):
            for p in convs(out_dir, int(args[i]), args[i + 1], depth):
                print(p, flush=True)


if __name__ == "__main__":
    main()
