"""Small helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simgan.errors import SimganError


def parse_size(text: str) -> tuple[int, int]:
    """'35x55' -> (35, 55) as (height, width)."""
    try:
        h, w = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size '{text}' is not HEIGHTxWIDTH, e.g. 35x55") from None
    if h < 4 or w < 4 or h > 4096 or w > 4096:
        raise argparse.ArgumentTypeError(f"size '{text}' must be between 4x4 and 4096x4096")
    return h, w


def positive_int(text: str) -> int:
    """argparse type: a whole number above 0."""
    v = _whole(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return v


def non_negative_int(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    v = _whole(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more")
    return v


def non_negative_float(text: str) -> float:
    """argparse type: a finite number, 0 or more."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= v < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' must be a finite number, 0 or more")
    return v


def add_consistency(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """--consistency W: the digits demo's semantic-consistency weight (None = its default)."""
    p.add_argument(
        "--consistency",
        type=non_negative_float,
        help=f"{prefix}weight of the semantic-consistency term, a frozen digit CNN trained on "
        "the synthetic labels (default: digits_demo.CONSISTENCY; 0 = off)",
    )


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def add_subcommands(
    sub: argparse._SubParsersAction,
    name: str,
    help: str,
    dest: str | None = None,
    metavar: str = "ACTION",
) -> argparse._SubParsersAction:
    """Add command `name` made of actions (`simgan NAME ACTION ...`); returns their subparsers.

    The chosen action lands in args.<dest> (default: NAME_command); one is required.
    """
    p = sub.add_parser(name, help=help)
    return p.add_subparsers(dest=dest or f"{name}_command", metavar=metavar, required=True)


def add_output(parser: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    """The `-o/--out` file option, as args.out; required unless it has a default."""
    parser.add_argument("-o", "--out", required=default is None, default=default, help=help)


def add_real_fake(
    parser: argparse.ArgumentParser, fake_help: str = "dataset file of refined images"
) -> None:
    """The required `--real FILE --fake FILE` pair of dataset files to compare."""
    parser.add_argument("--real", required=True, help="dataset file of real images")
    parser.add_argument("--fake", required=True, help=fake_help)


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """The `--overwrite` flag: replace an existing output file."""
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output file if it exists"
    )


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    """`--checkpoint best|last`: which refiner of a run folder (best = checkpoint selection's
    choice where the run made one, else the last)."""
    parser.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="a run folder's best.pt (kept by select.every; the last checkpoint where the run "
        "selected none) or its last.pt (default best)",
    )


def add_overrides(parser: argparse.ArgumentParser, example: str = "train.k_g=5") -> None:
    """The repeatable `--set KEY=VALUE` option (a config override), as args.overrides."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a training config value, e.g. --set {example} (repeatable)",
    )


def add_seed(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """The `--seed` option (a whole number, default 0)."""
    parser.add_argument("--seed", type=int, default=0, help=help)


def add_device(
    parser: argparse.ArgumentParser,
    default: str = "auto",
    help: str = "auto, cpu, cuda, cuda:N (auto)",
) -> None:
    """The `--device` option (resolved later by simgan.device.resolve_device)."""
    parser.add_argument("--device", default=default, help=help)


def add_json(parser: argparse.ArgumentParser, help: str = "print one JSON object") -> None:
    """The `--json` flag: print the result as one JSON object instead of text."""
    parser.add_argument("--json", action="store_true", help=help)


def add_quiet(parser: argparse.ArgumentParser, help: str = "no progress bar") -> None:
    """The `--quiet` flag."""
    parser.add_argument("--quiet", action="store_true", help=help)


def option_values(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """{name: args.name} for the given option names, to pass on as keyword arguments."""
    return {name: getattr(args, name) for name in names}


def print_json(obj: Any) -> None:
    """Print obj as one line of JSON (values JSON does not know as their str())."""
    json.dump(obj, sys.stdout, indent=None, default=str)
    sys.stdout.write("\n")


def require(condition: bool, message: str) -> None:
    """Raise SimganError(message), a user error (exit code 2), unless condition holds."""
    if not condition:
        raise SimganError(message)
