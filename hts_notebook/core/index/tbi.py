"""TBI: the tabix index, read and write (tabix spec, ``tabix.tex``).

A ``.tbi`` file is BGZF-compressed.  After the magic ``TBI\\1`` and ``n_ref``
comes the tabix header -- ``format``, ``col_seq``, ``col_beg``, ``col_end``,
``meta``, ``skip``, ``l_nm`` (int32 each) and ``l_nm`` bytes of
NUL-terminated sequence names -- then the same per-reference body as BAI
(bins with chunks, linear index) and an optional ``n_no_coor``.

The tabix header is kept verbatim in :attr:`BinningIndex.aux`, which is also
what a tabix CSI stores as its ``aux`` bytes; :class:`TabixConfig` decodes it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..bgzf import BgzfReader, BgzfWriter
from ..errors import HtsError, FormatError, LimitExceededError, TruncatedFileError
from .model import BinningIndex, parse_body, serialize_body

__all__ = [
    "TBI_MAGIC",
    "TBX_GENERIC",
    "TBX_SAM",
    "TBX_VCF",
    "TBX_UCSC",
    "TabixConfig",
    "PRESETS",
    "pack_tabix_header",
    "parse_tabix_header",
    "parse_tbi",
    "read_tbi",
    "tbi_bytes",
    "write_tbi",
]

TBI_MAGIC = b"TBI\x01"
#: ``format`` values (tabix spec §Format): generic, SAM, VCF; ``TBX_UCSC`` flags 0-based half-open.
TBX_GENERIC, TBX_SAM, TBX_VCF, TBX_UCSC = 0, 1, 2, 0x10000
_HDR = struct.Struct("<7i")


@dataclass(frozen=True)
class TabixConfig:
    """The column spec of a tabix-indexed text file (the ``tbx_conf_t`` fields).

    Attributes
    ----------
    preset : int
        ``format``: 0 generic, 1 SAM, 2 VCF, ``| 0x10000`` when the begin
        column is 0-based (UCSC/BED style, ``tabix -0``).
    col_seq, col_beg, col_end : int
        1-based column numbers of the sequence name, begin and end (0: no
        end column).
    meta_char : int
        Lines starting with this byte are header/comment lines.
    line_skip : int
        Number of leading lines to skip.
    """

    preset: int = TBX_GENERIC
    col_seq: int = 1
    col_beg: int = 4
    col_end: int = 5
    meta_char: int = ord("#")
    line_skip: int = 0

    @property
    def kind(self) -> int:
        """``preset & 0xffff``: TBX_GENERIC, TBX_SAM or TBX_VCF."""
        return self.preset & 0xFFFF

    @property
    def zero_based(self) -> bool:
        return bool(self.preset & TBX_UCSC)

    def replace(self, **kw) -> "TabixConfig":
        from dataclasses import replace

        return replace(self, **kw)


#: ``tabix -p`` presets (htslib ``tbx_conf_*``).
PRESETS = {
    "gff": TabixConfig(TBX_GENERIC, 1, 4, 5, ord("#"), 0),
    "bed": TabixConfig(TBX_UCSC, 1, 2, 3, ord("#"), 0),
    "sam": TabixConfig(TBX_SAM, 3, 4, 0, ord("@"), 0),
    "vcf": TabixConfig(TBX_VCF, 1, 2, 0, ord("#"), 0),
}


def pack_tabix_header(conf: TabixConfig, names) -> bytes:
    """Tabix header bytes (``format`` .. ``names``), as stored in TBI and as CSI ``aux``.

    Parameters
    ----------
    conf : TabixConfig
    names : iterable of str or bytes
        Sequence names in id order.
    """
    blob = b"".join((n.encode() if isinstance(n, str) else bytes(n)) + b"\x00" for n in names)
    return _HDR.pack(conf.preset, conf.col_seq, conf.col_beg, conf.col_end, conf.meta_char, conf.line_skip,
                     len(blob)) + blob


def parse_tabix_header(aux: bytes, *, path=None, offset: int = 0) -> tuple[TabixConfig, list[str]]:
    """Decode tabix header bytes into a :class:`TabixConfig` and the sequence names.

    Raises
    ------
    TruncatedFileError
        Fewer than 28 bytes, or ``l_nm`` larger than what follows.
    FormatError
        ``l_nm`` negative, names not NUL-terminated.
    """
    if len(aux) < 28:
        raise TruncatedFileError(f"tabix header needs 28 bytes, has {len(aux)}", path=path, offset=offset,
                                 field="l_nm")
    preset, sc, bc, ec, meta, skip, l_nm = _HDR.unpack_from(aux, 0)
    if l_nm < 0:
        raise FormatError(f"l_nm={l_nm} is negative", path=path, offset=offset + 24, field="l_nm")
    if 28 + l_nm > len(aux):
        raise TruncatedFileError(f"l_nm={l_nm} but only {len(aux) - 28} bytes of names", path=path,
                                 offset=offset + 24, field="l_nm")
    blob = bytes(aux[28: 28 + l_nm])
    if l_nm and blob[-1] != 0:
        raise FormatError("sequence names are not NUL-terminated", path=path, offset=offset + 28, field="names")
    names = [n.decode("utf-8", "surrogateescape") for n in blob.split(b"\x00")[:-1]] if l_nm else []
    conf = TabixConfig(preset, sc, bc, ec, meta & 0xFF if meta >= 0 else meta, skip)
    return conf, names


def parse_tbi(data: bytes, *, path=None) -> BinningIndex:
    """Parse the decompressed bytes of a ``.tbi`` file.

    Parameters
    ----------
    data : bytes
        Decompressed content.
    path : str, optional
        Name for error messages.

    Returns
    -------
    BinningIndex
        ``fmt="tbi"``, ``min_shift=14``, ``depth=5``; :attr:`BinningIndex.aux`
        holds the tabix header (decode it with :func:`parse_tabix_header`).

    Raises
    ------
    FormatError
        Wrong magic, negative counts, malformed names, bad bins, trailing bytes.
    TruncatedFileError, LimitExceededError
        Counts the remaining bytes cannot satisfy.

    Notes
    -----
    Tabix spec (``tabix.tex``); offsets in errors are into the decompressed stream.
    """
    if len(data) < 4 or data[:4] != TBI_MAGIC:
        if len(data) < 4 and data == TBI_MAGIC[: len(data)]:
            raise TruncatedFileError(f"TBI magic needs 4 bytes, has {len(data)}", path=path, offset=0, field="magic")
        raise FormatError(f"not a TBI file (magic {bytes(data[:4])!r})", path=path, offset=0, field="magic")
    if len(data) < 36:
        raise TruncatedFileError(f"TBI header needs 36 bytes, has {len(data)}", path=path, offset=0, field="l_nm")
    (n_ref,) = struct.unpack_from("<i", data, 4)
    if n_ref < 0:
        raise FormatError(f"n_ref={n_ref} is negative", path=path, offset=4, field="n_ref")
    (l_nm,) = struct.unpack_from("<i", data, 32)
    if l_nm < 0:
        raise FormatError(f"l_nm={l_nm} is negative", path=path, offset=32, field="l_nm")
    if 36 + l_nm > len(data):
        if l_nm > len(data):
            raise LimitExceededError(f"l_nm={l_nm} exceeds the {len(data)}-byte index", path=path, offset=32,
                                     field="l_nm")
        raise TruncatedFileError(f"l_nm={l_nm} but {len(data) - 36} bytes left", path=path, offset=32, field="l_nm")
    aux = bytes(data[8: 36 + l_nm])
    conf, names = parse_tabix_header(aux, path=path, offset=8)
    if conf.col_seq < 1 or conf.col_beg < 1 or conf.col_end < 0:
        raise FormatError(f"invalid columns seq={conf.col_seq} beg={conf.col_beg} end={conf.col_end}", path=path,
                          offset=12, field="col_seq")
    refs, n_no_coor, end = parse_body(data, 36 + l_nm, n_ref, fmt="tbi", min_shift=14, depth=5, path=path)
    if end != len(data):
        raise FormatError(f"{len(data) - end} unexpected bytes after the index", path=path, offset=end,
                          field="n_no_coor")
    return BinningIndex(fmt="tbi", refs=refs, min_shift=14, depth=5, aux=aux, n_no_coor=n_no_coor,
                        path=None if path is None else str(path))


def read_tbi(path) -> BinningIndex:
    """Read a ``.tbi`` file (BGZF-compressed); see :func:`parse_tbi`.

    Raises
    ------
    FormatError, TruncatedFileError, ChecksumError, LimitExceededError
    """
    reader = BgzfReader(path)
    try:
        data = reader.read_all()
        name = reader.path
    finally:
        reader.close()
    return parse_tbi(data, path=name)


def tbi_bytes(index: BinningIndex) -> bytes:
    """Decompressed TBI content of an index built or read with a tabix header in ``aux``.

    Raises
    ------
    ValueError
        The index is not BAI/TBI-shaped (CSI, or ``min_shift``/``depth`` other than 14/5).
    """
    if index.fmt == "csi" or index.min_shift != 14 or index.depth != 5:
        raise ValueError("a TBI needs a linear index with min_shift=14, depth=5")
    body = serialize_body(BinningIndex(fmt="tbi", refs=index.refs, min_shift=14, depth=5,
                                       n_no_coor=index.n_no_coor))
    aux = index.aux if len(index.aux) >= 28 else pack_tabix_header(TabixConfig(), [])
    return TBI_MAGIC + body[:4] + aux + body[4:]


def write_tbi(index: BinningIndex, path, level: int = 6) -> None:
    """Write an index as a BGZF-compressed ``.tbi`` file (see :func:`tbi_bytes`)."""
    with BgzfWriter(path, level=level) as w:
        w.write(tbi_bytes(index))


def index_sequence_names(index) -> list[str] | None:
    """Sequence names stored in a TBI, or in a CSI carrying a tabix header; None when it has none.

    BAM/BCF CSI indexes have no names (their reference ids follow the data
    file's own dictionary); a malformed tabix header also gives None.
    """
    aux = getattr(index, "aux", None)
    if not isinstance(aux, (bytes, bytearray)) or len(aux) < 28:
        return None
    try:
        return list(parse_tabix_header(bytes(aux))[1])
    except HtsError:
        return None
