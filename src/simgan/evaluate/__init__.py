"""Evaluation: does refinement make synthetic images useful and realistic, keeping labels?

- gaze: train the paper's gaze estimator on one set, measure angular error on another
  (`train_gaze_estimator`, `predict_gaze`, `evaluate_gaze`, `leave_one_person_out`);
- realism: classifier two-sample test (`c2st`) and KID on random-CNN features (`kid`);
- preservation: how far refinement moves the iris centre (`iris_centre`) and the gaze an
  appearance-invariant estimator reads (`preservation`, `train_preservation_estimator`);
  `darker_lashes` is an appearance-only probe to check such yardsticks with;
- domain_gap: a labelled "target camera" domain made from simulator output
  (`make_target_domain`) and the share of the gap refinement closes (`gap_closed`);
  estimator_seeds: the same over several estimator seeds per arm, with their spread;
- fresh_set: simulator eyes past a run's training file, which its refiner never saw.

All functions take uint8 images (N, H, W, C) as stored in dataset files; networks see
image / 127.5 - 1.
"""

from simgan.evaluate.appearance_probe import darker_lashes
from simgan.evaluate.domain_gap import STYLES, domain_gap_errors, gap_closed, make_target_domain
from simgan.evaluate.features import image_features
from simgan.evaluate.gaze_estimation import (
    error_summary,
    evaluate_gaze,
    leave_one_person_out,
    load_gaze_estimator,
    per_subject_errors,
    predict_gaze,
    save_gaze_estimator,
    train_gaze_estimator,
)
from simgan.evaluate.iris_centre import iris_centre
from simgan.evaluate.preservation import preservation, pupil_centre
from simgan.evaluate.preservation_estimator import StopRule, train_preservation_estimator
from simgan.evaluate.realism import c2st, kid, kid_from_features, wilson_interval

__all__ = [
    "STYLES",
    "StopRule",
    "c2st",
    "darker_lashes",
    "domain_gap_errors",
    "error_summary",
    "evaluate_gaze",
    "gap_closed",
    "image_features",
    "iris_centre",
    "kid",
    "kid_from_features",
    "leave_one_person_out",
    "load_gaze_estimator",
    "make_target_domain",
    "per_subject_errors",
    "predict_gaze",
    "preservation",
    "pupil_centre",
    "save_gaze_estimator",
    "train_gaze_estimator",
    "train_preservation_estimator",
    "wilson_interval",
]
