"""A pelvis model with a heatmap output: the image [B, 1, H, W] to fracture logits
[B, 1, H, W] (the image's score is the maximum of their sigmoid); trained against the
fracture mask with the task's loss (BCE with logits) unless `loss` is given."""
import torch
from torch import nn


class PelvisHeatmap(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, width, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.out = nn.Conv2d(width, 1, 1)

    def forward(self, x):
        y = self.out(self.down(x))
        return nn.functional.interpolate(y, size=x.shape[2:], mode="bilinear",
                                         align_corners=False)


def loss(output, target):
    # Fractures are a small share of the pixels: weigh them up.
    return nn.functional.binary_cross_entropy_with_logits(output, target,
                                                          pos_weight=torch.tensor(20.0))


def build_model():
    return PelvisHeatmap()
