"""`simgan import SOURCE ...`, `simgan collect ...`, `simgan download mpiigaze DIR`.

Every command writes one canonical dataset file (atomically), prints what it wrote and
what it skipped, and exits 2 with one message when nothing usable was found. The import
commands come from one table, `SOURCES` (plus `COLLECT`): each entry names its importer
function and the options that fill its keywords; `run_import` runs any of them.
(The module is not named import.py because `import` is a Python keyword.)
"""

from __future__ import annotations

import argparse
import functools
import importlib
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simgan.cli._common import add_overwrite, parse_size, positive_int, print_json

SIZE_HELP = "output HEIGHTxWIDTH (default 35x55, the paper's eye size)"


def _same(value: Any) -> Any:
    return value


def _dest(flags: tuple[str, ...]) -> str:
    """The attribute argparse stores an argument with these flags under."""
    name = next((f for f in flags if f.startswith("--")), flags[0])
    return name.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Arg:
    """One command-line argument and the importer keyword it fills.

    `flags` and `settings` go to argparse's add_argument; the parsed value goes through
    `convert` to the importer's keyword `keyword`.
    """

    flags: tuple[str, ...]
    settings: dict[str, Any]
    keyword: str
    convert: Callable[[Any], Any] = _same

    @property
    def dest(self) -> str:
        return _dest(self.flags)


def arg(
    *flags: str, to: str | None = None, convert: Callable[[Any], Any] = _same, **settings: Any
) -> Arg:
    """An `Arg` from add_argument's flags and settings; `to`: the keyword, if not the dest."""
    return Arg(flags, settings, to or _dest(flags), convert)


def switch_off(flag: str, keyword: str, help: str) -> Arg:
    """A flag that turns the importer's `keyword` (on by default) off."""
    return arg(flag, to=keyword, convert=operator.not_, action="store_true", help=help)


@dataclass(frozen=True)
class Source:
    """One import command: its name and help, its importer, and the arguments it takes.

    `importer` is "module:function", imported only when the command runs (so that
    `simgan --help` stays fast); it is called with the input and `out` as keywords, plus
    size, overwrite, the options' keywords, and channels / strict / show_progress where the
    flags say the importer takes them.
    """

    name: str
    help: str
    importer: str
    input: Arg
    options: tuple[Arg, ...] = ()
    channels: bool = True
    strict: bool = True
    progress: bool = True

    def load(self) -> Callable[..., Any]:
        """The importer function."""
        module, _, name = self.importer.partition(":")
        return getattr(importlib.import_module(module), name)

    def keywords(self, args: argparse.Namespace) -> dict[str, Any]:
        """The importer's keyword arguments for parsed command-line `args`."""
        kwargs = {a.keyword: a.convert(getattr(args, a.dest)) for a in (self.input, *self.options)}
        kwargs.update(out=args.out, size=args.size, overwrite=args.overwrite)
        if self.channels:
            kwargs["channels"] = args.channels
        if self.strict:
            kwargs["strict"] = args.strict
        if self.progress:
            kwargs["show_progress"] = _progress(args)
        return kwargs


def _id_list(text: str) -> list[int]:
    try:
        return [int(t.strip().lstrip("p")) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list like 0,1,2") from None


def _sides(eyes: str) -> tuple[str, ...]:
    return ("left", "right") if eyes == "both" else (eyes,)


FIT = arg(
    "--fit",
    to="fit_mode",
    choices=("crop", "stretch"),
    default="crop",
    help="reach the target aspect by centre crop (default) or stretching",
)
DOMAIN = arg("--domain", choices=("real", "synthetic"))
FOLDER = arg("folder")
FILE = arg("file", to="path")

SOURCES: tuple[Source, ...] = (
    Source(
        "mpiigaze",
        "MPIIGaze Data/Normalized .mat files (real)",
        "simgan.data.importers.mpiigaze:import_mpiigaze",
        arg("root", help="the MPIIGaze folder (holding Data/Normalized)"),
        (
            arg(
                "--eval-subset",
                action="store_true",
                help="only the 3,000 samples per person of 'Evaluation Subset'",
            ),
            switch_off(
                "--keep-right",
                "mirror_right",
                "do not mirror right eyes (default: mirror, yaw negated)",
            ),
            arg("--participants", type=_id_list, help="e.g. 0,1,2 (default: all)"),
            arg(
                "--eyes",
                to="sides",
                convert=_sides,
                choices=("both", "left", "right"),
                default="both",
            ),
        ),
    ),
    Source(
        "unityeyes",
        "UnityEyes N.jpg + N.json pairs (synthetic)",
        "simgan.data.importers.unityeyes:import_unityeyes",
        FOLDER,
        (
            arg(
                "--crop-scale",
                type=float,
                default=1.5,
                help="crop width in eye widths (default 1.5)",
            ),
            arg(
                "--frame",
                choices=("box", "mpiigaze"),
                default="box",
                help="box (default): --crop-scale eye widths around the eye; mpiigaze: framed "
                "like MPIIGaze's patches (corner midpoint centred, corners --corner-span of the "
                "width apart, equalized)",
            ),
            arg(
                "--corner-span",
                type=float,
                default=0.8,
                help="mpiigaze frame: corner-to-corner distance as a share of the width "
                "(default 0.8, MPIIGaze's 48 of 60 px)",
            ),
            arg(
                "--level",
                action="store_true",
                help="mpiigaze frame: turn the corner line horizontal (gaze turned with it)",
            ),
            arg("--flip", action="store_true", help="mirror every crop (gaze x negated)"),
            arg(
                "--mirror-share",
                type=float,
                default=0.0,
                help="mirror this share of the crops, evenly spread (0.5: both eye sides)",
            ),
            arg(
                "--equalize",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="histogram-equalize each crop last (default: only with --frame mpiigaze)",
            ),
            switch_off("--no-landmarks", "landmarks", "do not store the landmarks"),
            arg("--limit", type=positive_int, help="import only the first N pairs"),
            arg(
                "--workers",
                type=positive_int,
                default=1,
                help="decode and crop in N processes (default 1)",
            ),
        ),
    ),
    Source(
        "kaggle",
        "Kaggle eye-gaze gaze.h5 / real_gaze.h5 (either layout)",
        "simgan.data.importers.kaggle:import_kaggle",
        FILE,
        (
            arg(
                "--gaze-frame",
                choices=("unityeyes", "normalized"),
                default="unityeyes",
                help="frame of look_vec (default unityeyes: y up, negated on import)",
            ),
            arg(
                "--domain",
                choices=("real", "synthetic"),
                help="default: synthetic when look_vec is present, else real",
            ),
        ),
        strict=False,
    ),
    Source(
        "syntheseyes",
        "SynthesEyes PNG + .pkl pairs (synthetic)",
        "simgan.data.importers.syntheseyes:import_syntheseyes",
        FOLDER,
        (
            arg(
                "--gaze-frame",
                choices=("opengl", "unityeyes", "normalized"),
                default="opengl",
                help="frame of look_vec (default opengl: y up, z to viewer)",
            ),
        ),
    ),
    Source(
        "folder",
        "a folder of png/jpg/bmp images, optional labels.csv",
        "simgan.data.importers.folder:import_folder",
        FOLDER,
        (
            arg("--labels", help="labels CSV (default: FOLDER/labels.csv if present)"),
            FIT,
            arg("--recursive", action="store_true", help="also read sub-folders"),
            DOMAIN,
        ),
    ),
    Source(
        "npz",
        "a NumPy .npz with an 'images' array (N, H, W[, C])",
        "simgan.data.importers.npz:import_npz",
        FILE,
        (
            arg("--key", default="images", help="name of the image array (default images)"),
            FIT,
            DOMAIN,
        ),
        strict=False,
        progress=False,
    ),
)

COLLECT = Source(
    "collect",
    "find eyes in your own photos/videos -> real dataset",
    "simgan.data.importers.collect:collect_eyes",
    arg("inputs", nargs="+", metavar="PHOTO_OR_VIDEO", help="files or folders"),
    (
        arg(
            "--every", type=positive_int, default=10, help="use every Nth video frame (default 10)"
        ),
        arg("--max-frames", type=positive_int, help="at most N frames per video"),
        arg(
            "--detect",
            choices=("face", "eyes"),
            default="face",
            help="find faces then eyes (default), or eyes directly (close-ups)",
        ),
        arg("--equalize", action="store_true", help="histogram-equalize each crop"),
        switch_off("--keep-right", "mirror_right", "do not mirror right eyes"),
        arg("--crop-scale", type=float, default=1.5, help="crop width in eye widths"),
        arg(
            "--min-sharpness",
            type=float,
            default=0.02,
            help="drop crops less sharp than this (default 0.02; 0 keeps all)",
        ),
        arg(
            "--dup-bits",
            type=int,
            default=4,
            help="drop crops whose 64-bit hash is within N bits of a kept one "
            "(default 4; -1 keeps all)",
        ),
    ),
    channels=False,
    strict=False,
)


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


def add_source(sub: argparse._SubParsersAction, source: Source) -> None:
    """The subcommand of one `Source`: its input, its options, the output options."""
    q = sub.add_parser(source.name, help=source.help)
    for a in (source.input, *source.options):
        q.add_argument(*a.flags, **a.settings)
    _outputs(q, channels=source.channels)
    if source.strict:
        _strict(q)
    q.set_defaults(func=functools.partial(run_import, source))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="convert a dataset (MPIIGaze, UnityEyes, ...) to a file")
    s = p.add_subparsers(dest="import_source", metavar="SOURCE", required=True)
    for source in SOURCES:
        add_source(s, source)
    add_source(sub, COLLECT)

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


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _print(report: Any, args: argparse.Namespace) -> int:
    if args.json:
        print_json(report.as_dict())
    else:
        print(report.summary())
    return 0


def run_import(source: Source, args: argparse.Namespace) -> int:
    """Run the importer of `source` on the parsed `args`; print its report."""
    return _print(source.load()(**source.keywords(args)), args)


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
