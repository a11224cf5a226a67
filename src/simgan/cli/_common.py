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
    v = _whole(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return v


def non_negative_int(text: str) -> int:
    v = _whole(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more")
    return v


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output file if it exists"
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


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=None, default=str)
    sys.stdout.write("\n")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SimganError(message)
