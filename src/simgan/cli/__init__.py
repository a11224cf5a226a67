"""The `simgan` command: one module per subcommand, each a parser plus a function.

To add a command, write `simgan/cli/<name>.py` with `register(subparsers)` that adds its
parser and sets `func=` to a function taking the parsed args and returning an exit code.
Modules here are found automatically; names starting with "_" are helpers, not commands.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from simgan import __version__
from simgan.errors import SimganError


def command_modules() -> list[str]:
    """Names of the subcommand modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simgan",
        description="Simulated+Unsupervised learning: make synthetic images realistic while "
        "keeping their labels (Shrivastava et al., CVPR 2017).",
    )
    parser.add_argument("--version", action="version", version=f"simgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(f"simgan.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SimganError as e:
        print(f"simgan: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simgan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
