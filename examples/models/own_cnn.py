"""A researcher's own model, as `fracsweep export` takes it: a function that builds an
nn.Module. For the vertebra task it takes one patch [B, 1, S, S] and puts out three class
scores [B, 3] (normal, benign, malignant); without a `loss` function here, fracsweep uses
the task's (cross-entropy).

    fracsweep export examples/models/own_cnn.py --task vertebra --size 64

or name it in a sweep (examples/sweeps/own-model-tiny.yaml), which exports it once.
"""
import torch
from torch import nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class OwnCnn(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.features = nn.Sequential(block(1, width), block(width, 2 * width),
                                      block(2 * width, 4 * width), block(4 * width, 4 * width))
        self.head = nn.Linear(4 * width, 3)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


def build_model():
    return OwnCnn()
