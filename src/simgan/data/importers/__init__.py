"""Importers: every source format of real or synthetic eyes -> the canonical dataset file.

One module per source, each with one public function that streams the source into a
`DatasetWriter` and returns an `ImportReport` (what was written, what was skipped and why):

    mpiigaze.import_mpiigaze(root, out)        MPIIGaze Data/Normalized/pXX/dayYY.mat
    unityeyes.import_unityeyes(folder, out)    UnityEyes N.jpg + N.json pairs
    kaggle.import_kaggle(h5, out)              Kaggle eye-gaze gaze.h5 / real_gaze.h5
    syntheseyes.import_syntheseyes(folder, out)  SynthesEyes PNG + .pkl pairs
    folder.import_folder(folder, out)          any image folder, optional labels.csv
    npz.import_npz(file, out)                  a NumPy .npz with an `images` array
    collect.collect_eyes(inputs, out)          eyes found in the user's photos and videos
    download.download_mpiigaze(folder)         fetch + unpack the official archive

To add a source: write `<source>.py` with a generator of (images, labels) chunks (or of
single samples, stacked by `chunked`) and call `write_chunks` from `_chunks`, which handles
atomic output, counts and the empty case; its options subclass `_options.ImportOptions`.
Labels follow docs/real-data.md: gaze in the MPIIGaze normalized frame, right eyes mirrored.
"""

from simgan.data.importers._report import ImportReport

__all__ = ["ImportReport"]
