"""The web page's static files, read once from the package, and its two HTML pages.

Each page file in static/ holds only its body; static/_layout.html is the document around
it (head, stylesheet, script), filled with the page's title and script from PAGES. Names
starting with "_" are parts, never served themselves.
"""

from __future__ import annotations

from importlib import resources
from string import Template

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
LAYOUT = "_layout.html"
# page -> (title, script it runs)
PAGES = {
    "index.html": ("Real or not? A visual Turing test", "study.js"),
    "results.html": ("Turing test results", "results.js"),
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """The package's static files by name, pages complete: requests pick from this dict only."""
    folder = resources.files("simgan.web").joinpath("static")
    layout = Template(folder.joinpath(LAYOUT).read_text(encoding="utf-8"))
    out = {}
    for f in folder.iterdir():
        kind = STATIC_TYPES.get("." + f.name.rsplit(".", 1)[-1])
        if f.is_file() and kind and not f.name.startswith("_"):
            out[f.name] = (f.read_bytes(), kind)
    for name, (title, script) in PAGES.items():
        body = out[name][0].decode("utf-8")
        page = layout.substitute(title=title, script=script, body=body)
        out[name] = (page.encode("utf-8"), out[name][1])
    return out
