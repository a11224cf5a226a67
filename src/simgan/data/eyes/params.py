"""What varies from one simulated eye to the next: the parameter table and the label names.

Every image draws one uniform number per entry of PARAMS (from its own counter-based
stream, see counter_rng), scaled to the entry's range. Lengths are in millimetres, angles
in degrees, brightness in 0..1. The ranges are calibrated to MPIIGaze's normalized
36x60 patches (measured on ../shared/data/real, p00; docs/simulator.md); an EyeProfile
(profile.py) overrides any of them.
"""

from __future__ import annotations

import numpy as np

# (name, low, high): one uniform draw per image each, slot = position in this table.
# Changing the order changes every image of every seed: append new entries at the end.
PARAMS: tuple[tuple[str, float, float], ...] = (
    ("gaze_pitch", 0.0, 1.0),  # mapped onto the requested range below
    ("gaze_yaw", 0.0, 1.0),
    ("head_pitch", -10.0, 10.0),  # degrees, added to a share of the gaze pitch
    ("head_yaw", -15.0, 15.0),
    ("head_roll", -4.0, 4.0),
    ("scale", 0.9, 1.1),  # pixels per mm, relative to the size's nominal scale
    ("shift_x", -0.03, 0.03),  # eye centre offset, share of the width
    ("shift_y", -0.15, -0.07),
    ("eyeball_radius", 11.5, 12.5),
    ("iris_radius", 6.0, 6.6),
    ("pupil_radius", 1.3, 3.0),
    ("half_width", 14.0, 16.0),  # half the corner-to-corner distance
    ("canthal_tilt", -0.5, 1.5),  # mm the outer corner sits above the inner one
    ("open_upper", 3.5, 5.5),  # upper lid apex above the corner line, looking straight
    ("open_lower", 4.0, 6.0),
    ("upper_inner", 0.45, 0.8),  # lid shape exponents near each corner: < 1 is rounder
    ("upper_outer", 0.85, 1.2),  # the outer corner is the sharper one
    ("lower_inner", 0.6, 1.0),
    ("lower_outer", 0.85, 1.2),
    ("upper_skew", -0.35, 0.05),  # negative: upper apex toward the nose, as in real eyes
    ("lower_skew", 0.0, 0.35),
    ("lid_follow", 0.6, 0.9),  # share of the eye's vertical rotation the upper lid follows
    ("squint", 0.0, 1.0),
    ("crease_height", 1.5, 4.0),
    ("crease_strength", 0.2, 0.5),
    ("crease_width", 0.5, 1.2),
    ("lash_strength", 0.7, 0.95),
    ("lash_width", 0.6, 1.2),
    ("lower_line", 0.0, 0.15),
    ("skin", 0.5, 0.8),  # brightness in 0..1 before lighting
    ("sclera", 0.65, 0.9),
    ("iris", 0.0, 0.25),  # mapped so that dark (brown) irises are the most common
    ("pupil", 0.02, 0.05),
    ("caruncle", 0.45, 0.8),
    ("light_x", -0.7, 0.7),  # direction toward the main light, camera frame
    ("light_y", -0.8, 0.0),  # mostly from above (y is down)
    ("ambient", 0.6, 0.9),
    ("glint", 0.4, 1.0),
    ("glint_size", 0.25, 0.5),  # mm
    ("glint2", 0.0, 1.0),
    ("light2_x", -0.8, 0.8),
    ("light2_y", -0.8, 0.8),
    ("skin_gradient", 0.1, 0.3),
    ("skin_texture", 0.02, 0.06),
    ("brow", 0.4, 1.0),  # below 0.4 a brow shows; MPIIGaze patches rarely hold one
    ("brow_gap", 3.0, 7.0),  # mm from the crease up to the middle of the brow
    ("lid_shadow", 0.1, 0.35),
    ("contrast", 0.8, 1.25),
    ("brightness", -0.08, 0.08),
    ("tone", -0.4, 0.4),
    ("blur", 0.2, 0.3),
    ("noise", 0.0, 0.004),
    ("iris_texture", 0.02, 0.08),
    ("iris_phase", 0.0, 2 * np.pi),
    ("brow_width", 2.0, 4.0),  # mm
    ("orbit_shadow", 0.0, 0.1),  # darkening of the hollow between crease and brow
    ("under_eye", 0.0, 0.08),  # darkening of the fold below the lower lid
    ("corner_shadow", 0.1, 0.35),
    ("side", 0.0, 1.0),  # below the profile's mirror_share: drawn as the other eye side
    ("cheek", 0.05, 0.2),  # brightening of the cheek, growing below the lower lid
)
PARAM_STREAM = 0

# Pixels per mm at scale 1: a 60-pixel-wide patch spans 37.5 mm (1.6 px/mm, as MPIIGaze's
# normalization gives), so an eye of 28-32 mm between the corners fills 75-85% of it.
MM_ACROSS_WIDTH = 37.5
MM_ACROSS_HEIGHT = 22.5

N_LID = 7  # landmarks per eyelid, between the corners
N_IRIS = 8  # landmarks on the iris edge (limbus)
LANDMARK_NAMES: tuple[str, ...] = (
    "pupil_center",
    "iris_center",
    *(f"lid_upper_{i}" for i in range(N_LID)),
    *(f"lid_lower_{i}" for i in range(N_LID)),
    "corner_inner",
    "corner_outer",
    *(f"iris_{i}" for i in range(N_IRIS)),
)
HEAD_POSE_CONVENTION = (
    "(pitch, yaw, roll) radians of the head in the normalized camera frame; the head's "
    "forward vector is pitchyaw_to_vector(pitch, yaw) like gaze, rotation Rz(roll) Ry(yaw) "
    "Rx(-pitch)"
)
LANDMARK_CONVENTION = "pixel (x, y) = (column, row), pixel centres at whole numbers"

CORNEA_RADIUS = 7.8  # mm
CORNEA_BULGE = 1.0  # mm the corneal apex stands in front of the eyeball sphere
