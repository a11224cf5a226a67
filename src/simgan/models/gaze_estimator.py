"""The paper's gaze estimation CNN, used to measure how useful (refined) synthetic images are.

Shrivastava et al. (2017), appendix: conv3x3 32, conv3x3 32, conv3x3 64, maxpool3x3 s2,
conv3x3 80, conv3x3 192, maxpool2x2 s2, FC9600, FC1000, FC3, Euclidean loss.

Reading of "FC9600": with unpadded ("valid") 3x3 convolutions a 35x55 eye shrinks to
33x53, 31x51, 29x49, pools to 14x24, then 12x22, 10x20, and pools to 5x10; 192 x 5 x 10 =
9600 exactly. So the table's "FC9600" is the flattened 9600-feature map that enters the
fully connected part, followed by FC 1000 and FC 3. Set `fc9600_layer=True` for the literal
reading (an extra 9600-unit hidden layer, 92 M more weights) if you want to compare.

The output is divided by its length, so the network predicts a unit gaze vector in the
MPIIGaze normalized frame (x right, y down, z away from the camera).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from simgan.errors import SimganError

# (out_channels) of the five 3x3 convolutions and the hidden FC width, at width=1.0
CONV_CHANNELS = (32, 32, 64, 80, 192)
FC_HIDDEN = 1000


def _scaled(n: int, width: float) -> int:
    return max(4, int(round(n * width)))


def feature_map_size(input_size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of the last feature map for an (H, W) input: 35x55 -> 5x10."""

    def one(s: int) -> int:
        s = s - 6  # three unpadded 3x3 convolutions
        s = (s - 3) // 2 + 1  # maxpool 3x3 stride 2
        s = s - 4  # two unpadded 3x3 convolutions
        return s // 2  # maxpool 2x2 stride 2

    return one(input_size[0]), one(input_size[1])


class GazeEstimator(nn.Module):
    """Eye image -> unit gaze vector.

    channels: image channels (1 for grayscale eyes). input_size: (H, W) the network is built
    for; at least 19x19 (smaller inputs vanish in the unpadded convolutions). width: factor on
    every channel count and the hidden FC width (0.25 gives a model that trains in seconds on
    a CPU, for tests). fc9600_layer: add the literal 9600-unit hidden layer (see module doc).
    """

    def __init__(
        self,
        channels: int = 1,
        input_size: tuple[int, int] = (35, 55),
        width: float = 1.0,
        fc9600_layer: bool = False,
    ) -> None:
        super().__init__()
        fh, fw = feature_map_size(input_size)
        if fh < 1 or fw < 1:
            raise SimganError(
                f"gaze estimator: input size {input_size[0]}x{input_size[1]} is too small for "
                "the paper's network (needs at least 19x19); resize the images up first"
            )
        if width <= 0:
            raise SimganError(f"gaze estimator: width must be positive, got {width}")
        self.channels = int(channels)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.width = float(width)
        self.fc9600_layer = bool(fc9600_layer)
        c1, c2, c3, c4, c5 = (_scaled(c, width) for c in CONV_CHANNELS)
        self.features = nn.Sequential(
            nn.Conv2d(channels, c1, 3),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 3),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c3, c4, 3),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, stride=2),
        )
        flat = c5 * fh * fw  # 9600 at width 1 and 35x55
        hidden = _scaled(FC_HIDDEN, width)
        layers: list[nn.Module] = [nn.Flatten()]
        if fc9600_layer:
            layers += [nn.Linear(flat, flat), nn.ReLU(inplace=True)]
        layers += [nn.Linear(flat, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 3)]
        self.head = nn.Sequential(*layers)
        self.flat_features = flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, 3) unit gaze vectors."""
        if x.shape[1:] != (self.channels, *self.input_size):
            raise ValueError(
                f"GazeEstimator expects (N, {self.channels}, {self.input_size[0]}, "
                f"{self.input_size[1]}), got {tuple(x.shape)}"
            )
        v = self.head(self.features(x))
        return F.normalize(v, dim=1, eps=1e-6)

    def config(self) -> dict:
        """Constructor arguments, so a saved state_dict can be rebuilt."""
        return {
            "channels": self.channels,
            "input_size": list(self.input_size),
            "width": self.width,
            "fc9600_layer": self.fc9600_layer,
        }


def gaze_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's Euclidean loss on unit gaze vectors: mean over the batch of ||p - t||^2.

    For unit vectors ||p - t||^2 = 2 - 2 cos(angle), so it is monotone in the angular error
    and smooth at zero error (unlike the angle itself, whose gradient blows up there).
    """
    return ((pred - target) ** 2).sum(dim=1).mean()
