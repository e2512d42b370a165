"""Shared JAX plumbing for the kernels (DESIGN.md §5).

* :func:`get_jax` imports JAX lazily (``import hts_notebook`` never does) and,
  the first time, turns on JAX's persistent compilation cache in a user cache
  directory so a new notebook session reuses the compiled kernels of the last.
* :func:`bucket` rounds array sizes up to powers of two, so moving or resizing
  a window within a bucket reuses the same compiled program.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["get_jax", "cache_dir", "bucket", "pad_to"]

#: environment variable overriding the persistent cache directory ("off" disables it)
CACHE_ENV = "HTS_NOTEBOOK_JAX_CACHE"

_configured = False


def cache_dir() -> Path | None:
    """Directory of the persistent JAX compilation cache.

    Returns
    -------
    pathlib.Path or None
        ``$HTS_NOTEBOOK_JAX_CACHE`` when set, else ``$XDG_CACHE_HOME/hts_notebook/jax``
        (``~/.cache/hts_notebook/jax``); ``None`` when the variable is ``off``, ``0``
        or empty (cache disabled).
    """
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hts_notebook" / "jax"


def get_jax():
    """Import and return the ``jax`` module, configuring the compilation cache once.

    The cache is only configured when the user has not already pointed
    ``jax_compilation_cache_dir`` elsewhere.  Kernels here compile in well under
    a second, so the minimum compile time / entry size for caching are lowered
    to zero.  Failure to create the directory silently leaves the cache off.

    Returns
    -------
    module
        The imported ``jax`` package.
    """
    global _configured
    import jax

    if not _configured:
        _configured = True
        path = cache_dir()
        if path is not None and not jax.config.jax_compilation_cache_dir:
            try:
                path.mkdir(parents=True, exist_ok=True)
                jax.config.update("jax_compilation_cache_dir", str(path))
                jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
                jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
            except (OSError, AttributeError, ValueError):  # read-only home, old jax
                pass
    return jax


def bucket(n: int, minimum: int = 256) -> int:
    """Smallest power of two ``>= max(n, minimum)``.

    Parameters
    ----------
    n : int
        Size actually needed (``>= 0``).
    minimum : int
        Smallest bucket handed out (a power of two).

    Returns
    -------
    int
    """
    n = max(int(n), int(minimum), 1)
    return 1 << (n - 1).bit_length()


def pad_to(a: np.ndarray, size: int, fill=0) -> np.ndarray:
    """Copy of 1-D ``a`` padded with ``fill`` to length ``size`` (``size >= len(a)``)."""
    a = np.asarray(a)
    if len(a) > size:
        raise ValueError(f"cannot pad array of length {len(a)} to {size}")
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def accelerator_available() -> bool:
    """Whether JAX would run on a GPU/TPU here, decided without importing JAX on a CPU-only install.

    True when a JAX accelerator plugin (the ``jax_plugins`` namespace,
    ``jax_cuda*``, ``jax_rocm*``, ``libtpu``) is installed and, once JAX is imported, its default backend is
    not the CPU.  The answer is cached.
    """
    global _ACCEL
    if _ACCEL is None:
        import importlib.util

        plugin = any(importlib.util.find_spec(n) is not None for n in _PLUGINS)
        if not plugin:
            _ACCEL = False
        else:
            try:
                _ACCEL = get_jax().default_backend() != "cpu"
            except Exception:  # noqa: BLE001 - a broken plugin means: run on the CPU
                _ACCEL = False
    return _ACCEL


_ACCEL: bool | None = None


def resolve_backend(backend: str) -> str:
    """``"auto"`` -> ``"jax"`` when JAX has a GPU/TPU (:func:`accelerator_available`), else ``"numpy"``.

    Raises
    ------
    ValueError
        Not ``"auto"``, ``"numpy"`` or ``"jax"``.
    """
    if backend == "auto":
        return "jax" if accelerator_available() else "numpy"
    if backend not in ("numpy", "jax"):
        raise ValueError(f"unknown backend {backend!r} (auto, numpy, jax)")
    return backend
_PLUGINS = ("jax_plugins", "jax_cuda12_plugin", "jax_cuda13_plugin", "jax_cuda12_pjrt", "jax_cuda13_pjrt",
            "jax_rocm60_plugin", "jax_rocm7_plugin", "libtpu")
