"""The frozen model of the refiner's label-consistency term (loss.label_model).

Two kinds of file, told apart by the `kind` they were saved with:
- a gaze estimator (save_gaze_estimator, `simgan eval gaze --save-model`): the term is the
  estimator's gaze on R(x) against the synthetic `gaze` label;
- a digit classifier (simgan.evaluate.digit_classifiers.save_digit_classifier): the term
  is its cross-entropy on R(x) against the synthetic `label` class (CyCADA's semantic
  consistency).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from simgan.evaluate._common import read_model_file
from simgan.evaluate.digit_classifiers import KIND as CLASSIFIER_KIND
from simgan.evaluate.digit_classifiers import load_digit_classifier
from simgan.evaluate.gaze_estimation import load_gaze_estimator

# file kind -> (label of the synthetic set the term compares with, loader)
KINDS = {
    "gaze_estimator": ("gaze", load_gaze_estimator),
    CLASSIFIER_KIND: ("label", load_digit_classifier),
}


def label_model_kind(path: str | os.PathLike) -> str:
    """The `kind` of a label model file, checked."""
    hint = "give a gaze estimator (simgan eval gaze --save-model) or a digit classifier file"
    return read_model_file(path, "label model", hint, tuple(KINDS))["kind"]


def label_name(path: str | os.PathLike) -> str:
    """Which label of the synthetic set the label model's term needs: gaze or label."""
    return KINDS[label_model_kind(path)][0]


def load_label_model(path: str | os.PathLike, device: torch.device) -> nn.Module:
    """The frozen model (eval mode, no gradients to its weights)."""
    model = KINDS[label_model_kind(path)][1](path, device=str(device))
    model.requires_grad_(False)
    return model.eval()
