"""PyTorch side of tools/bench/train-throughput.sh: trains the same CIFAR-style ResNet that
`onnxprune train --arch resnetN` builds (3 stages of 16/32/64 channels for 1x28x28 input,
bias-free convs, BatchNorm, projection shortcuts where the shape changes, global average pool,
linear classifier) with SGD (momentum 0.9, weight decay 5e-4) and cross-entropy, and prints
"<images per second> <peak RSS MB>" on one line.

Usage: torch_train_step.py ARCH WARMUP STEPS [BATCH] [THREADS]
"""
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, kernel, stride=1, relu=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.first = conv_bn(cin, cout, 3, stride)
        self.second = conv_bn(cout, cout, 3, 1, relu=False)
        self.shortcut = conv_bn(cin, cout, 1, stride, relu=False) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.second(self.first(x)) + self.shortcut(x))


def cifar_resnet(blocks_per_stage, classes=10):
    layers, cin = [conv_bn(1, 16, 3)], 16
    for stage, width in enumerate([16, 32, 64]):
        for k in range(blocks_per_stage):
            layers.append(BasicBlock(cin, width, 2 if stage > 0 and k == 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def main():
    arch, warmup, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    blocks = {"resnet20": 3, "resnet56": 9}[arch]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = cifar_resnet(blocks).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    images = torch.randn(batch, 1, 28, 28)
    labels = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{steps * batch / elapsed:.3f} {peak_mb:.1f}", flush=True)


if __name__ == "__main__":
    main()
