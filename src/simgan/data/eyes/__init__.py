"""The built-in eye simulator: procedural grayscale eye patches with exact gaze labels.

In the style of UnityEyes (Wood et al., ETRA 2016), drawn in vectorized numpy batches:
an eyeball sphere whose iris and pupil are discs across the gaze direction (so they move
and foreshorten exactly with gaze), sclera with lighting, iris texture, corneal glints,
eyelids fixed to the head that follow vertical gaze, a lid crease, lashes, caruncle, skin
texture and brow, head-pose jitter, analytic anti-aliasing, blur and sensor noise.

    images, labels = render_eyes(64, seed=0)            # uint8 (64, 35, 55, 1)
    write_synthetic_eyes("synth.h5", 1_200_000, seed=0)   # streamed, atomic
    profile = fit_profile(real_images)                    # drawn like a user's real set

What is drawn (parameter ranges, gaze ranges, the share of right eyes, equalization, JPEG)
is an EyeProfile; DEFAULT_PROFILE is calibrated to MPIIGaze's normalized patches.

Each image is a pure function of (seed, index): chunking never changes the pictures.
The module layout: counter_rng (per-index random numbers), params (what varies and its
ranges, label names), profile (what one dataset draws), scene (geometry and labels), shade
(pixels), simulator (this API), statistics and fit (matching a real set).
"""

from simgan.data.eyes.fit import FitResult, fit_profile
from simgan.data.eyes.params import HEAD_POSE_CONVENTION, LANDMARK_CONVENTION, LANDMARK_NAMES
from simgan.data.eyes.profile import DEFAULT_PROFILE, EyeProfile, load_profile, save_profile
from simgan.data.eyes.simulator import (
    DEFAULT_SIZE,
    PITCH_RANGE_DEG,
    YAW_RANGE_DEG,
    mirror,
    render_eyes,
    write_synthetic_eyes,
)

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_SIZE",
    "EyeProfile",
    "FitResult",
    "HEAD_POSE_CONVENTION",
    "LANDMARK_CONVENTION",
    "LANDMARK_NAMES",
    "PITCH_RANGE_DEG",
    "YAW_RANGE_DEG",
    "fit_profile",
    "load_profile",
    "mirror",
    "render_eyes",
    "save_profile",
    "write_synthetic_eyes",
]
