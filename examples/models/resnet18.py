"""ResNet-18 in torchvision's layout (one grey input channel, three classes) as a model
file for `fracsweep export`: the benchmark's model (bench/exported_vs_pytorch.py) and the
full-size equality case (bench/exported_equality.py). The backbone is the PyTorch twin of
fracsweep's own (bench/train_vs_pytorch.py: ResNet18Stages)."""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from train_vs_pytorch import ResNet18Stages  # noqa: E402


class ResNet18(nn.Module):
    def __init__(self, width=64, classes=3):
        super().__init__()
        self.backbone = ResNet18Stages(width)
        self.fc = nn.Linear(self.backbone.out_channels(4), classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.backbone(x).mean((2, 3)), 1))


def build_model():
    return ResNet18()
