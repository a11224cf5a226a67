"""`simgan report`: one self-contained HTML page per training run (see simgan.report.page)."""

from simgan.report.page import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "write_report"]
