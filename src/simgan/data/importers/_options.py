"""The options every importer shares, as one frozen object; each importer subclasses it.

An importer gathers its options from its own keyword arguments with `pick(locals())`, so
each option is named once (in the importer's signature) and travels as one object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

_Options = TypeVar("_Options", bound="ImportOptions")


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """What every importer is asked: the output size (H, W) and channels, whether a bad input
    stops the import, whether to show a progress bar. Importers without a choice of channels,
    strictness or progress bar keep the defaults (gray, skip and count, no bar).
    """

    size: tuple[int, int]
    channels: int = 1
    strict: bool = False
    show_progress: bool = False

    @classmethod
    def pick(cls: type[_Options], arguments: Mapping[str, Any]) -> _Options:
        """The options among an importer's arguments: call as `pick(locals())`, first thing,
        so that each option is named once, in the importer's signature."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls) if f.name in arguments})


@dataclass(frozen=True, kw_only=True)
class FitOptions(ImportOptions):
    """Options of the importers that fit whole images to the size: 'crop' or 'stretch'."""

    fit_mode: str
