"""CRC-32C (Castagnoli) with TensorFlow's masking, backed by the C-accelerated ``crc32c`` package.

TF stores every checksum *masked* (FORMATS.md §1.2) so that a CRC computed over data that itself
contains CRCs does not degenerate. A pure-Python CRC runs at ~6 MB/s, far too slow for data files,
hence the C package.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util


def _load_c_function():
    """The C ``crc32c`` function, loaded from the package's extension module directly.

    ``import crc32c`` runs the package ``__init__``, which calls ``importlib.metadata.version()``
    and so imports importlib.metadata and scans the installed distributions: ~40 ms at every
    start of ``inspect`` (a tenth of its run on a large checkpoint, bench/analysis.md). Loading
    the ``_crc32c`` extension on its own skips that; any surprise in the package layout falls
    back to the plain import.
    """
    try:
        package = importlib.util.find_spec("crc32c")
        if package is not None and package.submodule_search_locations:
            spec = importlib.machinery.PathFinder.find_spec("crc32c._crc32c",
                                                            list(package.submodule_search_locations))
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.crc32c
    except (ImportError, AttributeError, OSError):
        pass
    from crc32c import crc32c

    return crc32c


_crc32c = _load_c_function()

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data``; passing a previous result as ``crc`` extends it as if the buffers were joined."""
    return _crc32c(data, crc)


def mask(crc: int) -> int:
    """TF's storage form of a CRC: rotate right by 15 bits and add a constant."""
    crc &= _U32
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32
