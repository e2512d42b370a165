"""bigBed reader: entries, typed interval datasets (autoSql) and name indexes.

A bigBed is a BBI file (see :mod:`.header`) whose data blocks hold BED
records ``chromId u32, chromStart u32, chromEnd u32, rest\\0``: the rest of
the BED line (fields 4 onwards, tab separated) as NUL-terminated text.  The
file's columns are described by autoSql text at ``autoSqlOffset``
(``table name "description" ( type name; "comment" ... )``); files without
autoSql use the standard BED column names.  ``bedToBigBed -extraIndex`` adds
B+ trees (listed by the extension header) that map a field's value to the
data block holding the record.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

from ...errors import FormatError, LimitExceededError, TruncatedFileError
from .header import BbiReader, bptree_find, read_extension

__all__ = ["BigBedFile", "AutoSqlField", "parse_autosql", "decode_bed_block", "BED_FIELDS"]

#: standard BED columns after chrom/start/end, with their autoSql types
BED_FIELDS = (("string", "name"), ("uint", "score"), ("char[1]", "strand"), ("uint", "thickStart"),
              ("uint", "thickEnd"), ("uint", "reserved"), ("int", "blockCount"), ("int[blockCount]", "blockSizes"),
              ("int[blockCount]", "chromStarts"))

_INT_TYPES = {"int", "uint", "short", "ushort", "byte", "ubyte", "bigint"}
_FLOAT_TYPES = {"float": np.float32, "double": np.float64}
_FIELD_RE = re.compile(r'\s*(?P<type>(?:enum|set)\s*\([^)]*\)|[A-Za-z_]\w*(?:\s*\[\s*\w*\s*\])?)\s+'
                       r'(?P<name>[A-Za-z_]\w*)\s*;\s*(?:"(?P<doc>[^"]*)")?')


@dataclass(frozen=True)
class AutoSqlField:
    """One autoSql column: its declared type, name and comment."""

    type: str
    name: str
    doc: str = ""

    @property
    def dtype(self) -> np.dtype:
        """numpy dtype used for the column in datasets (arrays and text stay ``str``)."""
        if "[" in self.type and not self.type.startswith("char"):
            return np.dtype(str)
        if self.type in _INT_TYPES:
            return np.dtype(np.int64)
        if self.type in _FLOAT_TYPES:
            return np.dtype(_FLOAT_TYPES[self.type])
        return np.dtype(str)


def parse_autosql(text: str) -> tuple[str, list[AutoSqlField]]:
    """Parse autoSql table text.

    Returns
    -------
    name : str
        Table name ('' when absent).
    fields : list of AutoSqlField
        Every declared column, chrom/start/end included.

    Raises
    ------
    FormatError
        No parenthesised field list.
    """
    m = re.search(r"table\s+(\w+)", text)
    name = m.group(1) if m else ""
    open_, close = text.find("("), text.rfind(")")
    # enum(...) / set(...) contain parentheses of their own: take the first '(' that follows the description
    desc_end = text.find('"', text.find('"') + 1) if '"' in text[:open_ if open_ >= 0 else 0] else -1
    if desc_end >= 0:
        open_ = text.find("(", desc_end)
    if open_ < 0 or close <= open_:
        raise FormatError("autoSql: no field list in parentheses", field="autoSql")
    body = text[open_ + 1:close]
    fields = []
    pos = 0
    while True:
        fm = _FIELD_RE.match(body, pos)
        if not fm:
            break
        fields.append(AutoSqlField(re.sub(r"\s+", "", fm.group("type")), fm.group("name"), fm.group("doc") or ""))
        pos = fm.end()
    if body[pos:].strip():
        raise FormatError(f"autoSql: cannot parse field near {body[pos:pos + 40]!r}", field="autoSql")
    return name, fields


def decode_bed_block(buf: bytes, order: str = "<", *, path=None, offset=None):
    """Decode the records of one inflated bigBed data block.

    Returns
    -------
    chrom_ids : (n,) uint32
    starts, ends : (n,) int64
    rest : list of bytes
        Fields 4 onwards of each record, tab separated (may be empty).

    Raises
    ------
    TruncatedFileError
        A record header or its NUL terminator is missing.
    """
    cids, starts, ends, rest = [], [], [], []
    pos, n = 0, len(buf)
    unpack = struct.Struct(order + "III").unpack_from
    while pos < n:
        if n - pos < 13:
            raise TruncatedFileError(f"bigBed record needs 13 bytes, block has {n - pos}", path=path,
                                     offset=offset, field="bed record")
        c, s, e = unpack(buf, pos)
        z = buf.find(b"\0", pos + 12)
        if z < 0:
            raise TruncatedFileError("bigBed record text is not NUL-terminated", path=path, offset=offset,
                                     field="rest")
        cids.append(c), starts.append(s), ends.append(e), rest.append(buf[pos + 12:z])
        pos = z + 1
    return (np.asarray(cids, np.uint32), np.asarray(starts, np.int64), np.asarray(ends, np.int64), rest)


class BigBedFile(BbiReader):
    """A bigBed file opened for region queries.

    Use :func:`hts_notebook.open`.

    Attributes
    ----------
    contigs : dict of str to int
        Chromosome names and lengths, in chromosome-id order.
    autosql : str or None
        The autoSql text stored in the file.
    fields : list of AutoSqlField
        Columns of the file (from autoSql, else the standard BED names).
    extra_indexes : dict of str to int
        Fields with a name index (``bedToBigBed -extraIndex``) -> B+ tree offset.

    Raises
    ------
    FormatError, TruncatedFileError
        Not a bigBed, or malformed header / chromosome tree / autoSql.
    """

    def __init__(self, path, *, cache_blocks: int = 512):
        super().__init__(path, "bigbed", cache_blocks)
        try:
            self.autosql = self._read_autosql()
            if self.autosql:
                self.table_name, self.fields = parse_autosql(self.autosql)
            else:
                self.table_name = "bed"
                n = max(self.bbi_header.field_count, 3)
                std = [AutoSqlField(t, nm) for t, nm in BED_FIELDS]
                self.fields = ([AutoSqlField("string", "chrom"), AutoSqlField("uint", "chromStart"),
                                AutoSqlField("uint", "chromEnd")] + std[: n - 3]
                               + [AutoSqlField("string", f"field{i + 1}") for i in range(12, n)])
            self.extra_indexes = {}
            for ext in read_extension(self._src, self.bbi_header):
                ids = ext["field_ids"]
                if len(ids) == 1 and ids[0] < len(self.fields):
                    self.extra_indexes[self.fields[ids[0]].name] = ext["offset"]
        except BaseException:
            self.close()
            raise

    def __repr__(self):
        return f"BigBedFile({self.path!r}, contigs={len(self.contigs)}, fields={len(self.fields)})"

    @property
    def header(self) -> dict:
        """Header and total summary (pyBigWig ``header()`` keys, untruncated, plus raw offsets)."""
        return self._header_dict()

    @property
    def zoom_levels(self):
        return list(self.zoom_headers)

    def _read_autosql(self) -> str | None:
        off = self.bbi_header.autosql_offset
        if not off:
            return None
        chunks = []
        pos = off
        while True:
            part = self._src.read_at(pos, 4096)
            if not part:
                raise TruncatedFileError("autoSql text is not NUL-terminated", path=self.path, offset=off,
                                         field="autoSql")
            z = part.find(b"\0")
            if z >= 0:
                chunks.append(part[:z])
                break
            chunks.append(part)
            pos += len(part)
            if pos - off > (1 << 20):
                raise LimitExceededError("autoSql text longer than 1 MiB", path=self.path, offset=off,
                                         field="autoSql")
        return b"".join(chunks).decode("utf-8", "replace")

    # ------------------------------------------------------------------ raw records
    def _decoded(self, offset: int, size: int):
        def make():
            buf = self._block(offset, size)
            return decode_bed_block(buf, self.bbi_header.byteorder, path=self.path, offset=offset)

        return self._cached(("data", offset), make)

    def _fetch(self, chrom_id: int, start: int, stop: int, blocks=None):
        cs, ss, es, rs = [], [], [], []
        if blocks is None:
            blocks = self.index.query(chrom_id, start, stop) if stop > start else []
        for off, size in blocks:
            cid, s, e, rest = self._decoded(off, size)
            keep = (cid == chrom_id) & (s < stop) & (e > start) if chrom_id >= 0 else np.ones(len(s), bool)
            idx = np.flatnonzero(keep)
            cs.append(cid[idx]), ss.append(s[idx]), es.append(e[idx]), rs.extend(rest[i] for i in idx.tolist())
        if not ss:
            return np.zeros(0, np.uint32), np.zeros(0, np.int64), np.zeros(0, np.int64), []
        return np.concatenate(cs), np.concatenate(ss), np.concatenate(es), rs

    def entries(self, region, *, with_string: bool = True) -> list[tuple]:
        """Records overlapping a region, as pyBigWig's ``entries()``.

        Parameters
        ----------
        region : str, Region or tuple
            1-based closed string or 0-based half-open tuple.
        with_string : bool
            Include the rest-of-line text.

        Returns
        -------
        list of tuple
            ``(start, end, rest)`` (0-based half-open; ``rest`` is fields 4+
            joined by tabs), or ``(start, end)`` without the string.
        """
        _reg, cid, start, stop = self._resolve(region)
        _c, s, e, rest = self._fetch(cid, start, stop)
        if not with_string:
            return list(zip(s.tolist(), e.tolist()))
        return [(a, b, r.decode("utf-8", "replace")) for a, b, r in zip(s.tolist(), e.tolist(), rest)]

    def query(self, region):
        """Records overlapping a region as an interval dataset.

        Parameters
        ----------
        region : str, Region or tuple

        Returns
        -------
        xarray.Dataset
            dim ``intervals``: ``interval_contig`` (int32 index into
            ``contig_id``), ``interval_start``, ``interval_stop`` (int64,
            0-based half-open), then one variable per autoSql column after the
            third, named as in the file: integer types as int64, ``float`` as
            float32, ``double`` as float64 (a column whose text does not parse
            as its type, e.g. itemRgb ``255,0,0``, stays text), text,
            ``char[n]`` and list columns (``int[blockCount]``: comma-separated
            text) as ``str``.  ``contig_id`` / ``contig_length`` on dim
            ``contigs``; attrs ``region``, ``source``, ``autosql``.
        """
        reg, cid, start, stop = self._resolve(region)
        c, s, e, rest = self._fetch(cid, start, stop)
        ds = self._dataset(c, s, e, rest)
        ds.attrs["region"] = str(reg)
        return ds

    def search(self, value: str, field: str | None = None):
        """Records whose ``field`` equals ``value``, through an extra name index.

        Parameters
        ----------
        value : str
        field : str, optional
            An indexed field (default: the first one, usually ``name``).

        Returns
        -------
        xarray.Dataset
            As :meth:`query`.

        Raises
        ------
        KeyError
            The file has no index on that field.
        """
        if not self.extra_indexes:
            raise KeyError("this bigBed has no extra name index")
        field = field or next(iter(self.extra_indexes))
        if field not in self.extra_indexes:
            raise KeyError(f"no index on field {field!r} (indexed: {', '.join(self.extra_indexes)})")
        order = self.bbi_header.byteorder
        vals = bptree_find(self._src, self.extra_indexes[field], order, value.encode())
        blocks = sorted({struct.unpack(order + "QQ", v[:16]) for v in vals if len(v) >= 16})
        col = [f.name for f in self.fields].index(field) - 3
        c, s, e, rest = self._fetch(-1, 0, 0, blocks=blocks)
        key = value.encode()
        keep = [i for i, r in enumerate(rest) if (r.split(b"\t")[col] if col >= 0 else b"") == key]
        ds = self._dataset(c[keep], s[keep], e[keep], [rest[i] for i in keep])
        ds.attrs["search"] = f"{field}={value}"
        return ds

    def _dataset(self, c, s, e, rest):
        import xarray as xr

        names = list(self.contigs)
        cid_to_idx = {self._chrom_ids[n]: i for i, n in enumerate(names)}
        contig_idx = np.asarray([cid_to_idx.get(int(x), -1) for x in c], dtype=np.int32)
        extra = self.fields[3:]
        cols: list[list[str]] = [[] for _ in extra]
        for r in rest:
            parts = r.decode("utf-8", "replace").split("\t") if r else []
            for j in range(len(extra)):
                cols[j].append(parts[j] if j < len(parts) else "")
        data = {
            "interval_contig": ("intervals", contig_idx),
            "interval_start": ("intervals", np.asarray(s, np.int64)),
            "interval_stop": ("intervals", np.asarray(e, np.int64)),
        }
        for f, col in zip(extra, cols):
            data[f.name] = ("intervals", _typed(col, f.dtype))
        data["contig_id"] = ("contigs", np.asarray(names, dtype=str))
        data["contig_length"] = ("contigs", np.asarray([self.contigs[n] for n in names], dtype=np.int64))
        return xr.Dataset(data, attrs={"source": self.path, "autosql": self.autosql or "",
                                       "table": self.table_name})


def _typed(col: list[str], dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "U":
        return np.asarray(col, dtype=str)
    try:
        return np.asarray(col, dtype=np.float64 if dtype.kind == "f" else np.int64).astype(dtype)
    except (ValueError, OverflowError):
        # text that does not parse as the declared type (itemRgb "255,0,0" in a uint column,
        # empty fields): keep the column as text rather than lose values
        return np.asarray(col, dtype=str)
