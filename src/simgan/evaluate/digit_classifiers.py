"""Downstream classifiers for 8x8 digits: a refinement gain counts only where it holds
across the classifiers people use on images (issue 15).

- logistic: logistic regression on standardized pixels (the demo's original yardstick);
- svm: an RBF-kernel support vector machine on pixels in [0, 1];
- knn: k nearest neighbours (k = 5) on pixels in [0, 1];
- cnn: a small convolutional network (DigitCNN), Adam, seeded, a fixed number of steps.

Every classifier is trained the same way whatever its training set (raw, refined or real
digits) and scored on the same real test digits. A trained DigitCNN can be saved and used
as the frozen classifier of the refiner's semantic-consistency term
(loss.label_model, loss.lambda_label).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch import nn

from simgan.atomic import atomic_path
from simgan.errors import SimganError
from simgan.evaluate._common import as_images, read_model_file, seeded
from simgan.images import to_network

CLASSIFIERS = ("logistic", "svm", "knn", "cnn")
KIND = "digit_classifier"
CNN_BATCH, CNN_LR = 128, 1e-3
CNN_STEPS = 800  # the default training budget of every DigitCNN (the tests lower it)


class DigitCNN(nn.Module):
    """(N, C, 8, 8) in [-1, 1] -> (N, classes) logits: two 3x3 conv stages and a linear head."""

    def __init__(self, channels: int = 1, classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.channels, self.classes, self.width = channels, classes, width
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.LazyLinear(128), nn.ReLU(), nn.Linear(128, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def config(self) -> dict[str, int]:
        return {"channels": self.channels, "classes": self.classes, "width": self.width}


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def train_digit_cnn(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    steps: int | None = None,
    shift: int = 1,
) -> DigitCNN:
    """A DigitCNN trained on uint8 (N, 8, 8, C) images with integer labels, in eval mode
    (Adam, CNN_LR, batches of CNN_BATCH).

    Each batch is shifted by up to `shift` pixels (zero fill), the usual augmentation for
    digits; the step count is fixed (`steps`, else CNN_STEPS), so every training set gets
    the same budget."""
    images = as_images(images, "classifier training images")
    labels = np.asarray(labels).astype(np.int64)
    if len(labels) != len(images):
        raise SimganError(f"{len(images)} images but {len(labels)} labels")
    x_all, y_all = to_network(images), torch.from_numpy(labels)
    with seeded(seed):
        model = DigitCNN(images.shape[-1], classes=int(labels.max()) + 1 if len(labels) else 10)
        model(x_all[:1])  # materialize the lazy layer before the optimizer sees it
        opt = torch.optim.Adam(model.parameters(), lr=CNN_LR)
        g = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(CNN_STEPS if steps is None else steps):
            idx = torch.randint(len(x_all), (min(CNN_BATCH, len(x_all)),), generator=g)
            x = x_all[idx]
            if shift:
                dy, dx = torch.randint(-shift, shift + 1, (2,), generator=g).tolist()
                x = torch.roll(F.pad(x, (shift,) * 4, value=-1.0), (dy, dx), dims=(2, 3))
                x = x[:, :, shift:-shift, shift:-shift]
            loss = F.cross_entropy(model(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def predict_digits(model: DigitCNN, images: np.ndarray) -> np.ndarray:
    """Predicted classes (N,) of uint8 (N, 8, 8, C) images."""
    x = to_network(as_images(images, "images to classify"))
    return torch.cat([model(x[i : i + 4096]).argmax(1) for i in range(0, len(x), 4096)]).numpy()


def fit_classifier(
    name: str, train_images: np.ndarray, train_labels: np.ndarray, seed: int = 0
) -> Callable[[np.ndarray], np.ndarray]:
    """Classifier `name` (CLASSIFIERS) trained on the digits; returns its predict function
    (uint8 (N, 8, 8, C) images -> (N,) classes)."""
    if name == "cnn":
        model = train_digit_cnn(train_images, train_labels, seed=seed)
        return lambda images: predict_digits(model, images)
    if name == "logistic":
        clf = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000, C=0.1, random_state=seed)
        )
    elif name == "svm":
        clf = SVC(kernel="rbf", C=10.0, gamma="scale", random_state=seed)
    elif name == "knn":
        clf = KNeighborsClassifier(n_neighbors=5)
    else:
        raise SimganError(f"unknown classifier '{name}'; choose one of {', '.join(CLASSIFIERS)}")
    clf.fit(_pixels(train_images), train_labels)
    return lambda images: clf.predict(_pixels(images))


def classifier_accuracy(
    name: str,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    seed: int = 0,
) -> float:
    """Accuracy on the test digits of classifier `name` (CLASSIFIERS) trained on the others."""
    predict = fit_classifier(name, train_images, train_labels, seed)
    return float((predict(test_images) == test_labels).mean())


def save_digit_classifier(model: DigitCNN, path: str | os.PathLike, overwrite: bool = False):
    """Write a DigitCNN's config and weights atomically (for loss.label_model)."""
    with atomic_path(path, overwrite) as tmp:
        torch.save({"kind": KIND, "config": model.config(), "state_dict": model.state_dict()}, tmp)


def load_digit_classifier(path: str | os.PathLike, device: str = "cpu") -> DigitCNN:
    """Rebuild a DigitCNN written by save_digit_classifier (weights_only load), in eval mode."""
    hint = "write one with save_digit_classifier"
    blob = read_model_file(path, "digit classifier", hint, (KIND,), device)
    model = DigitCNN(**blob["config"])
    model(torch.zeros(1, model.channels, 8, 8))  # materialize the lazy layer
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval()
