"""One copy of a front-end bundle per kernel, however many widgets show it.

anywidget sends a widget's whole module (``_esm``) with every model, and a notebook saved with
widget state stores it once per model: 630 KiB per terminal. Instead, a widget carries the
small loader (``static/loader.js``) and a reference (``_bundle``) to one ``Bundle`` model per
file, which holds the code; the loader imports it from there, once per page. Where a host
cannot resolve model references (marimo), widgets carry their whole module as before.
"""

from __future__ import annotations

import pathlib
import sys
import threading

import anywidget
import traitlets
from ipywidgets import widget_serialization

STATIC = pathlib.Path(__file__).parent / "static"
LOADER = STATIC / "loader.js"

_lock = threading.Lock()
_bundles: dict[str, Bundle] = {}


class Bundle(anywidget.AnyWidget):
    """A front end's code, for the loaders of the widgets that use it; never displayed."""

    _esm = "export default {};"
    code = traitlets.Unicode().tag(sync=True)


def bundle_traits(name: str) -> dict[str, object]:
    """The traits a widget whose front end is ``static/<name>`` starts with: the loader and a
    reference to the kernel's ``Bundle`` of that file, or (marimo) the whole module."""
    if "marimo" in sys.modules:  # its anywidget front end has no widget manager to look models up
        return {"_esm": (STATIC / name).read_text(encoding="utf-8")}
    with _lock:
        shared = _bundles.get(name)
        if shared is None or shared.comm is None:  # none yet, or closed (Widget.close_all())
            shared = _bundles[name] = Bundle(code=(STATIC / name).read_text(encoding="utf-8"))
    return {"_bundle": shared}


def bundle_trait() -> traitlets.Instance:
    """The trait that refers a widget to its ``Bundle`` (None where it carries its module)."""
    return traitlets.Instance(Bundle, allow_none=True).tag(sync=True, **widget_serialization)
