"""Notebook widgets (anywidget): :class:`RegionBrowser`.

Importing this package imports anywidget; ``import hts_notebook`` does not.
"""
from __future__ import annotations

__all__ = ["RegionBrowser", "BatchReader", "SequenceReader"]


def __getattr__(name):
    if name in __all__:
        from . import region_browser

        return getattr(region_browser, name)
    raise AttributeError(name)
