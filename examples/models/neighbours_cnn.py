"""A vertebra model with two inputs in one tensor: the patch and its neighbours, exported
with `--neighbours` ([B, 3, S, S]: previous, current, next). One stream reads the
current vertebra, a second the difference to its neighbours; the two are concatenated."""
import torch
from torch import nn


def stream(cin, width):
    return nn.Sequential(nn.Conv2d(cin, width, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, width, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(width), nn.ReLU())


class NeighboursCnn(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.current = stream(1, width)
        self.context = stream(2, width)
        self.head = nn.Linear(2 * width, 3)

    def forward(self, x):
        current = x[:, 1:2]
        context = torch.cat([x[:, 0:1] - current, x[:, 2:3] - current], 1)
        f = torch.cat([self.current(current).mean((2, 3)), self.context(context).mean((2, 3))], 1)
        return self.head(f)


def build_model():
    return NeighboursCnn()
