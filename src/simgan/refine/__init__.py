"""Refining: load a trained refiner (run, checkpoint, TorchScript, ONNX) and refine images
or whole dataset files with it, labels untouched.

    files.py    refine_array (uint8 images), refine_file (a dataset file, streaming),
                refine_file_distributed (torchrun shards), concat_datasets
    loading.py  load_refiner (a run's nn.Module), load_any_refiner (any source, wrapped)
"""

from simgan.refine.files import concat_datasets, refine_array, refine_file, refine_file_distributed
from simgan.refine.loading import (
    METADATA_FILE,
    OnnxRefiner,
    TorchRefiner,
    load_any_refiner,
    load_refiner,
    load_torchscript,
)

__all__ = [
    "METADATA_FILE",
    "OnnxRefiner",
    "TorchRefiner",
    "concat_datasets",
    "load_any_refiner",
    "load_refiner",
    "load_torchscript",
    "refine_array",
    "refine_file",
    "refine_file_distributed",
]
