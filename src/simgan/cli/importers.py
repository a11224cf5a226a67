"""`simgan import SOURCE ...`, `simgan collect ...`, `simgan download mpiigaze DIR`.

Every command writes one canonical dataset file (atomically), prints what it wrote and
what it skipped, and exits 2 with one message when nothing usable was found.
(The module is not named import.py because `import` is a Python keyword.)
"""

from __future__ import annotations

import argparse
import sys

from simgan.cli._common import add_overwrite, parse_size, positive_int, print_json

SIZE_HELP = "output HEIGHTxWIDTH (default 35x55, the paper's eye size)"


def _outputs(p: argparse.ArgumentParser, channels: bool = True) -> None:
    p.add_argument("-o", "--out", required=True, help="dataset file to write (.h5)")
    p.add_argument("--size", type=parse_size, default=(35, 55), help=SIZE_HELP)
    if channels:
        p.add_argument(
            "--channels",
            type=int,
            choices=(1, 3),
            default=1,
            help="1 = grayscale (default), 3 = RGB",
        )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite(p)


def _strict(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first bad file instead of skipping and counting it",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="convert a dataset (MPIIGaze, UnityEyes, ...) to a file")
    s = p.add_subparsers(dest="import_source", metavar="SOURCE", required=True)

    q = s.add_parser("mpiigaze", help="MPIIGaze Data/Normalized .mat files (real)")
    q.add_argument("root", help="the MPIIGaze folder (holding Data/Normalized)")
    q.add_argument(
        "--eval-subset",
        action="store_true",
        help="only the 3,000 samples per person of 'Evaluation Subset'",
    )
    q.add_argument(
        "--keep-right",
        action="store_true",
        help="do not mirror right eyes (default: mirror, yaw negated)",
    )
    q.add_argument("--participants", type=_id_list, help="e.g. 0,1,2 (default: all)")
    q.add_argument("--eyes", choices=("both", "left", "right"), default="both")
    _outputs(q)
    _strict(q)
    q.set_defaults(func=cmd_mpiigaze)

    q = s.add_parser("unityeyes", help="UnityEyes N.jpg + N.json pairs (synthetic)")
    q.add_argument("folder")
    q.add_argument(
        "--crop-scale", type=float, default=1.5, help="crop width in eye widths (default 1.5)"
    )
    q.add_argument("--flip", action="store_true", help="mirror every crop (gaze x negated)")
    q.add_argument("--no-landmarks", action="store_true", help="do not store the landmarks")
    q.add_argument("--limit", type=positive_int, help="import only the first N pairs")
    q.add_argument(
        "--workers", type=positive_int, default=1, help="decode and crop in N processes (default 1)"
    )
    _outputs(q)
    _strict(q)
    q.set_defaults(func=cmd_unityeyes)

    q = s.add_parser("kaggle", help="Kaggle eye-gaze gaze.h5 / real_gaze.h5 (either layout)")
    q.add_argument("file")
    q.add_argument(
        "--gaze-frame",
        choices=("unityeyes", "normalized"),
        default="unityeyes",
        help="frame of look_vec (default unityeyes: y up, negated on import)",
    )
    q.add_argument(
        "--domain",
        choices=("real", "synthetic"),
        help="default: synthetic when look_vec is present, else real",
    )
    _outputs(q)
    q.set_defaults(func=cmd_kaggle)

    q = s.add_parser("syntheseyes", help="SynthesEyes PNG + .pkl pairs (synthetic)")
    q.add_argument("folder")
    q.add_argument(
        "--gaze-frame",
        choices=("opengl", "unityeyes", "normalized"),
        default="opengl",
        help="frame of look_vec (default opengl: y up, z to viewer)",
    )
    _outputs(q)
    _strict(q)
    q.set_defaults(func=cmd_syntheseyes)

    q = s.add_parser("folder", help="a folder of png/jpg/bmp images, optional labels.csv")
    q.add_argument("folder")
    q.add_argument("--labels", help="labels CSV (default: FOLDER/labels.csv if present)")
    q.add_argument(
        "--fit",
        choices=("crop", "stretch"),
        default="crop",
        help="reach the target aspect by centre crop (default) or stretching",
    )
    q.add_argument("--recursive", action="store_true", help="also read sub-folders")
    q.add_argument("--domain", choices=("real", "synthetic"))
    _outputs(q)
    _strict(q)
    q.set_defaults(func=cmd_folder)

    q = s.add_parser("npz", help="a NumPy .npz with an 'images' array (N, H, W[, C])")
    q.add_argument("file")
    q.add_argument("--key", default="images", help="name of the image array (default images)")
    q.add_argument(
        "--fit",
        choices=("crop", "stretch"),
        default="crop",
        help="reach the target aspect by centre crop (default) or stretching",
    )
    q.add_argument("--domain", choices=("real", "synthetic"))
    _outputs(q)
    q.set_defaults(func=cmd_npz)

    q = sub.add_parser("collect", help="find eyes in your own photos/videos -> real dataset")
    q.add_argument("inputs", nargs="+", metavar="PHOTO_OR_VIDEO", help="files or folders")
    q.add_argument(
        "--every", type=positive_int, default=10, help="use every Nth video frame (default 10)"
    )
    q.add_argument("--max-frames", type=positive_int, help="at most N frames per video")
    q.add_argument(
        "--detect",
        choices=("face", "eyes"),
        default="face",
        help="find faces then eyes (default), or eyes directly (close-ups)",
    )
    q.add_argument("--equalize", action="store_true", help="histogram-equalize each crop")
    q.add_argument("--keep-right", action="store_true", help="do not mirror right eyes")
    q.add_argument("--crop-scale", type=float, default=1.5, help="crop width in eye widths")
    q.add_argument(
        "--min-sharpness",
        type=float,
        default=0.02,
        help="drop crops less sharp than this (default 0.02; 0 keeps all)",
    )
    q.add_argument(
        "--dup-bits",
        type=int,
        default=4,
        help="drop crops whose 64-bit hash is within N bits of a kept one "
        "(default 4; -1 keeps all)",
    )
    _outputs(q, channels=False)
    q.set_defaults(func=cmd_collect)

    p = sub.add_parser("download", help="fetch a public dataset, then import it")
    s = p.add_subparsers(dest="download_source", metavar="DATASET", required=True)
    q = s.add_parser("mpiigaze", help="the MPIIGaze archive (about 2 GB), resumable")
    q.add_argument("folder", help="where to keep the archive and its contents")
    q.add_argument("--url", default=None, help="archive URL (default: the official one)")
    q.add_argument("--sha256", help="expected sha256 of the archive")
    q.add_argument("--out", "-o", help="dataset file (default FOLDER/mpiigaze.h5)")
    q.add_argument("--no-import", action="store_true", help="only download and unpack")
    q.add_argument("--size", type=parse_size, default=(35, 55), help=SIZE_HELP)
    q.add_argument("--eval-subset", action="store_true")
    q.add_argument("--keep-right", action="store_true")
    q.add_argument("--json", action="store_true")
    q.add_argument("--quiet", action="store_true")
    add_overwrite(q)
    q.set_defaults(func=cmd_download)


def _id_list(text: str) -> list[int]:
    try:
        return [int(t.strip().lstrip("p")) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list like 0,1,2") from None


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _print(report, args: argparse.Namespace) -> int:
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.summary())
    return 0


def cmd_mpiigaze(args: argparse.Namespace) -> int:
    from simgan.data.importers.mpiigaze import import_mpiigaze

    sides = ("left", "right") if args.eyes == "both" else (args.eyes,)
    report = import_mpiigaze(
        args.root,
        args.out,
        size=args.size,
        channels=args.channels,
        mirror_right=not args.keep_right,
        eval_subset=args.eval_subset,
        participants=args.participants,
        sides=sides,
        overwrite=args.overwrite,
        strict=args.strict,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_unityeyes(args: argparse.Namespace) -> int:
    from simgan.data.importers.unityeyes import import_unityeyes

    report = import_unityeyes(
        args.folder,
        args.out,
        size=args.size,
        channels=args.channels,
        crop_scale=args.crop_scale,
        flip=args.flip,
        landmarks=not args.no_landmarks,
        limit=args.limit,
        workers=args.workers,
        overwrite=args.overwrite,
        strict=args.strict,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_kaggle(args: argparse.Namespace) -> int:
    from simgan.data.importers.kaggle import import_kaggle

    report = import_kaggle(
        args.file,
        args.out,
        size=args.size,
        channels=args.channels,
        gaze_frame=args.gaze_frame,
        domain=args.domain,
        overwrite=args.overwrite,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_syntheseyes(args: argparse.Namespace) -> int:
    from simgan.data.importers.syntheseyes import import_syntheseyes

    report = import_syntheseyes(
        args.folder,
        args.out,
        size=args.size,
        channels=args.channels,
        gaze_frame=args.gaze_frame,
        overwrite=args.overwrite,
        strict=args.strict,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_folder(args: argparse.Namespace) -> int:
    from simgan.data.importers.folder import import_folder

    report = import_folder(
        args.folder,
        args.out,
        size=args.size,
        channels=args.channels,
        labels=args.labels,
        fit_mode=args.fit,
        recursive=args.recursive,
        domain=args.domain,
        overwrite=args.overwrite,
        strict=args.strict,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_npz(args: argparse.Namespace) -> int:
    from simgan.data.importers.npz import import_npz

    report = import_npz(
        args.file,
        args.out,
        key=args.key,
        size=args.size,
        channels=args.channels,
        fit_mode=args.fit,
        domain=args.domain,
        overwrite=args.overwrite,
    )
    return _print(report, args)


def cmd_collect(args: argparse.Namespace) -> int:
    from simgan.data.importers.collect import collect_eyes

    report = collect_eyes(
        args.inputs,
        args.out,
        size=args.size,
        every=args.every,
        max_frames=args.max_frames,
        detect=args.detect,
        equalize=args.equalize,
        mirror_right=not args.keep_right,
        crop_scale=args.crop_scale,
        min_sharpness=args.min_sharpness,
        dup_bits=args.dup_bits,
        overwrite=args.overwrite,
        show_progress=_progress(args),
    )
    return _print(report, args)


def cmd_download(args: argparse.Namespace) -> int:
    from simgan.data.importers.download import MPIIGAZE_URL, download_mpiigaze

    archive, report = download_mpiigaze(
        args.folder,
        url=args.url or MPIIGAZE_URL,
        sha256=args.sha256,
        out=args.out,
        import_data=not args.no_import,
        overwrite=args.overwrite,
        show_progress=not args.quiet,
        size=args.size,
        eval_subset=args.eval_subset,
        mirror_right=not args.keep_right,
    )
    if report is None:
        print(f"downloaded and unpacked {archive}")
        return 0
    return _print(report, args)
