"""Datasets: the canonical file format, the built-in simulators, and importers.

Everything reads and writes the canonical file through `simgan.data.dataset`.
"""

from simgan.data.dataset import (
    GAZE_CONVENTION,
    LABEL_KINDS,
    Dataset,
    DatasetReader,
    DatasetWriter,
    landmark_names,
    read_dataset,
    write_dataset,
)

__all__ = [
    "GAZE_CONVENTION",
    "LABEL_KINDS",
    "Dataset",
    "DatasetReader",
    "DatasetWriter",
    "landmark_names",
    "read_dataset",
    "write_dataset",
]
