"""Find eyes in photos with detectors that ship inside installed packages (no downloads).

Two backends, chosen automatically:
- "haar": OpenCV's Haar cascades (cv2.data.haarcascades, OpenCV 4.x): faces, then eyes
  inside the upper part of each face; or eyes directly on the whole image.
- "lbp": OpenCV 5 no longer ships cascades or CascadeClassifier. Then faces come from the
  LBP frontal-face cascade inside scikit-image, and the eyes are placed by face geometry
  (about 30% / 70% across and 37% down the face box), their height refined on the darkest
  row (the iris) near that place. Coarser than Haar, so Haar is used whenever present.
Detection runs on a copy at most `max_side` pixels long; boxes are scaled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from simgan.errors import SimganError

# where the eyes sit in a frontal face box, as fractions of its width / height
EYE_X = (0.30, 0.70)
EYE_Y = 0.37
EYE_WIDTH = 0.20  # eye corner to corner, fraction of the face width
HAAR_EYE_WIDTH = 0.65  # eye corner to corner, fraction of a Haar eye box


@dataclass(frozen=True)
class Eye:
    """An eye found in a frame: centre (cx, cy), eye width in pixels, side if known.

    side: 1 = the person's right eye (on the image's left), 0 = left, None = unknown.
    """

    cx: float
    cy: float
    width: float
    side: int | None


def haar_available() -> bool:
    data = getattr(getattr(cv2, "data", None), "haarcascades", "")
    return hasattr(cv2, "CascadeClassifier") and (Path(data) / "haarcascade_eye.xml").is_file()


class EyeFinder:
    """Find eyes in uint8 grayscale frames (H, W). detect: 'face' or 'eyes'."""

    def __init__(self, detect: str = "face", backend: str = "auto", max_side: int = 800) -> None:
        if detect not in ("face", "eyes"):
            raise SimganError(f"detect must be 'face' or 'eyes', got '{detect}'")
        if backend == "auto":
            backend = "haar" if haar_available() else "lbp"
        if backend == "haar" and not haar_available():
            raise SimganError(
                "OpenCV's Haar cascades are not installed (OpenCV 5 dropped them); "
                "install 'opencv-python-headless<5' or use --detect face, which falls back "
                "to scikit-image's face detector"
            )
        if backend == "lbp" and detect == "eyes":
            raise SimganError(
                "--detect eyes needs OpenCV's Haar eye cascade, which this OpenCV "
                f"({cv2.__version__}) lacks; install 'opencv-python-headless<5' or use "
                "--detect face"
            )
        self.detect, self.backend, self.max_side = detect, backend, max_side
        if backend == "haar":
            root = Path(cv2.data.haarcascades)
            self._face = cv2.CascadeClassifier(str(root / "haarcascade_frontalface_default.xml"))
            self._eye = cv2.CascadeClassifier(str(root / "haarcascade_eye.xml"))
        elif backend == "lbp":
            try:
                from skimage import data
                from skimage.feature import Cascade
            except ImportError:
                raise SimganError(
                    f"OpenCV {cv2.__version__} has no Haar cascades; install scikit-image "
                    "(its face detector is used instead) or 'opencv-python-headless<5'"
                ) from None
            self._lbp = Cascade(data.lbp_frontal_face_cascade_filename())
        else:
            raise SimganError(f"detector backend must be auto, haar or lbp, got '{backend}'")

    def find(self, gray: np.ndarray) -> tuple[int, list[Eye]]:
        """(number of faces, eyes) in a uint8 (H, W) frame, in its pixel coordinates."""
        k = min(1.0, self.max_side / max(gray.shape))
        small = cv2.resize(gray, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1 else gray
        if self.detect == "eyes":
            faces, eyes = 0, self._haar_eyes(small, None)
        else:
            boxes = self._faces(small)
            faces, eyes = len(boxes), []
            for box in boxes:
                eyes += (
                    self._haar_eyes(small, box) if self.backend == "haar" else _placed(small, box)
                )
        return faces, [Eye(e.cx / k, e.cy / k, e.width / k, e.side) for e in eyes]

    def _faces(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        min_face = max(24, min(gray.shape) // 8)  # smaller "faces" are mostly false alarms
        if self.backend == "haar":
            found = self._face.detectMultiScale(gray, 1.1, 5, minSize=(min_face, min_face))
            return [tuple(int(v) for v in b) for b in found]
        found = self._lbp.detect_multi_scale(
            img=gray,
            scale_factor=1.1,
            step_ratio=1,
            min_size=(min_face, min_face),
            max_size=(min(gray.shape),) * 2,
            min_neighbor_number=4,
        )
        boxes = [(d["c"], d["r"], d["width"], d["height"]) for d in found]
        return _drop_nested(boxes)

    def _haar_eyes(self, gray: np.ndarray, face) -> list[Eye]:
        if face is None:  # eyes directly: close-ups, no side known
            m = max(16, min(gray.shape) // 20)
            found = self._eye.detectMultiScale(gray, 1.1, 5, minSize=(m, m))
            return [Eye(x + w / 2, y + h / 2, HAAR_EYE_WIDTH * w, None) for x, y, w, h in found]
        fx, fy, fw, fh = face
        roi = gray[fy : fy + int(0.6 * fh), fx : fx + fw]
        found = self._eye.detectMultiScale(
            roi, 1.1, 3, minSize=(fw // 8, fw // 8), maxSize=(fw // 2, fw // 2)
        )
        best: dict[int, tuple[int, Eye]] = {}
        for x, y, w, h in found:
            cx, cy = x + w / 2, y + h / 2
            if not 0.15 * fh < cy < 0.55 * fh:  # nostrils and brows are not eyes
                continue
            side = 1 if cx < fw / 2 else 0  # the person's right eye is on the image's left
            if side not in best or w > best[side][0]:
                best[side] = (w, Eye(fx + cx, fy + cy, HAAR_EYE_WIDTH * w, side))
        return [e for _, e in sorted(best.values(), key=lambda t: t[1].cx)]


def _drop_nested(boxes: list[tuple]) -> list[tuple]:
    """Keep the larger of two boxes whose centres fall inside each other."""
    boxes = sorted(boxes, key=lambda b: -b[2])
    kept: list[tuple] = []
    for x, y, w, h in boxes:
        cx, cy = x + w / 2, y + h / 2
        if not any(kx <= cx <= kx + kw and ky <= cy <= ky + kh for kx, ky, kw, kh in kept):
            kept.append((x, y, w, h))
    return kept


def _placed(gray: np.ndarray, face) -> list[Eye]:
    """Eyes by face geometry; the height follows the darkest row (iris) nearby."""
    fx, fy, fw, fh = face
    eyes = []
    for side, ex in zip((1, 0), EYE_X, strict=True):
        cx, cy = fx + ex * fw, fy + EYE_Y * fh
        x0, x1 = int(cx - 0.1 * fw), int(cx + 0.1 * fw)
        y0, y1 = int(cy - 0.08 * fh), int(cy + 0.08 * fh)
        win = gray[max(0, y0) : y1, max(0, x0) : x1].astype(np.float32)
        if win.size:
            win = cv2.GaussianBlur(win, (0, 0), max(1.0, 0.02 * fw))
            cy = max(0, y0) + float(np.argmin(win.mean(axis=1)))
        eyes.append(Eye(cx, cy, EYE_WIDTH * fw, side))
    return eyes
