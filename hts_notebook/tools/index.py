"""``index``: build a BAI or CSI index of a coordinate-sorted BAM, like ``samtools index`` 1.16.

Usage::

    index [-bc] [-m INT] [-o FILE] [-@ INT] <in.bam> [out.index]
    index -M [-bc] [-m INT] <in1.bam> <in2.bam> ...

* ``-b`` BAI (default), ``-c`` CSI, ``-m INT`` CSI with ``min_shift`` INT
  (implies ``-c``; default 14).  The CSI depth is chosen from the longest
  reference as htslib does.
* The output is ``<in.bam>.bai`` / ``.csi`` unless ``-o FILE`` or the legacy
  second operand (used when it does not exist or already is an index) names it.
* ``-@`` is accepted and ignored.

The BAM is decoded range by range; each record's start and end virtual
offsets (where the next record starts, normalised to the next block at a
block end, as htslib's ``bgzf_tell``) feed
:func:`hts_notebook.core.index.build_index`.  The ``.bai`` is byte-identical
to samtools' output.
"""
from __future__ import annotations

import os
from typing import BinaryIO, TextIO

import numpy as np

from ..core.errors import HtsError
from . import UsageError
from ._args import c_atoi, getopt, open_error_text, print_error

BAM_LIDX_SHIFT = 14

USAGE = (
    "Usage: samtools index -M [-bc] [-m INT] <in1.bam> <in2.bam>...\n"
    "   or: samtools index [-bc] [-m INT] <in.bam> [out.index]\n"
    "Options:\n"
    "  -b       Generate BAI-format index for BAM files [default]\n"
    "  -c       Generate CSI-format index for BAM files\n"
    f"  -m INT   Set minimum interval size for CSI indices to 2^INT [{BAM_LIDX_SHIFT}]\n"
    "  -M       Interpret all filename arguments as files to be indexed\n"
    "  -o FILE  Write index to FILE [alternative to <out.index> as an argument]\n"
    "  -@ INT   Sets the number of threads [none]\n"
)

#: compressed bytes inflated per step while scanning a BAM
CHUNK_BYTES = 8 << 20


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    try:
        args = getopt(argv, "bcm:Mo:@:tf", {}, tool="index")
    except UsageError as exc:
        err.write(f"index: {exc}\n" + USAGE)
        return 1
    csi = False
    min_shift = BAM_LIDX_SHIFT
    multiple = False
    fn_idx = None
    tbi = force = False
    for key, val in args.options:
        if key == "t":
            tbi = True
        elif key == "f":
            force = True
        elif key == "b":
            csi = False
        elif key == "c":
            csi = True
        elif key == "m":
            csi, min_shift = True, c_atoi(val)
        elif key == "M":
            multiple = True
        elif key == "o":
            fn_idx = val
    files = list(args.operands)
    if not files:
        out.write(USAGE.encode())
        return 0
    if len(files) == 2 and fn_idx is None and _nonexistent_or_index(files[1]):
        fn_idx = files.pop()
    if len(files) > 1 and not multiple:
        print_error(err, "index", "use -M to enable indexing more than one alignment file")
        return 1
    if fn_idx and len(files) > 1:
        print_error(err, "index", "can't use -o with multiple input alignment files")
        return 1
    for path in files:
        why = open_error_text(path)
        if why is not None:
            print_error(err, "index", f'failed to open "{path}"', why)
            return 1
        if not _is_bam(path):
            kind = _variant_kind(path)
            if kind is not None:
                rc = _index_variants(path, kind, tbi=tbi and not csi, min_shift=min_shift if min_shift != BAM_LIDX_SHIFT else 14,
                                     fn_idx=fn_idx, force=force, err=err)
                if rc:
                    return rc
                continue
            print_error(err, "index", f'"{path}" is in a format that cannot be usefully indexed')
            return 1
        try:
            index = index_bam(path, min_shift=min_shift if csi else 0)
        except HtsError as exc:
            print_error(err, "index", f'failed to create index for "{path}": {exc}')
            return 1
        target = fn_idx or f"{path}.{'csi' if csi else 'bai'}"
        try:
            write_index(index, target, csi)
        except OSError as exc:
            print_error(err, "index", f'failed to create or write index "{target}"', exc.strerror)
            return 1
    return 0


def _nonexistent_or_index(path: str) -> bool:
    """samtools' rule for the legacy ``index in.bam out.index`` form."""
    if not os.path.exists(path):
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    if head == b"BAI\x01" or head == b"CSI\x01":
        return True
    if head[:2] == b"\x1f\x8b":
        import gzip

        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(4) in (b"CSI\x01", b"TBI\x01")
        except OSError:
            return False
    return False


def _is_bam(path: str) -> bool:
    from ..core.bgzf import BgzfReader, is_bgzf

    try:
        if not is_bgzf(path):
            return False
        with BgzfReader(path, check_eof=False) as r:
            return r.read(4) == b"BAM\x01"
    except Exception:
        return False


def iter_record_offsets(path: str, chunk_bytes: int = CHUNK_BYTES):
    """Yield ``(batch, voff_beg, voff_end)`` for the records of a BAM, in file order.

    ``voff_beg`` / ``voff_end`` are uint64 virtual offsets of each record's
    first byte and of the byte after it.
    """
    from ..core.bgzf import BgzfReader
    from ..core.formats.alignment.bam import decode_records, read_bam_header

    reader = BgzfReader(path)
    header, voff = read_bam_header(reader)
    n_ref = len(header.references)
    size = reader.size
    first = 0
    while True:
        coff = voff >> 16
        if coff >= size:
            break
        rng = reader.inflate_range(coff, min(size, coff + chunk_bytes))
        start = rng.position(voff)
        final = rng.end_coffset >= size
        batch, starts, consumed = decode_records(
            rng.data, start, path=path, voffset_of=lambda p, r=rng: int(r.voffsets([p])[0]),
            final=final, n_ref=n_ref, first_record=first,
        )
        n = len(starts)
        if n:
            ends = np.empty(n, dtype=np.int64)
            ends[:-1] = starts[1:]
            ends[-1] = consumed
            yield batch, rng.voffsets(starts), rng.voffsets(ends)
            first += n
        if final:
            break
        if consumed == start:
            if rng.end_coffset <= coff:
                break
            # one record spans more than this range: widen it
            chunk_bytes *= 2
            continue
        voff = int(rng.voffsets([consumed])[0])
    reader.close()
    return header


def index_bam(path: str, *, min_shift: int = 0):
    """Build the index of a BAM: BAI when ``min_shift`` is 0, else CSI with that ``min_shift``."""
    from ..core import index as idx
    from ..core.bgzf import BgzfReader
    from ..core.formats.alignment.bam import read_bam_header

    with BgzfReader(path) as r:
        header, _ = read_bam_header(r)
    parts = list(iter_record_offsets(path))
    if parts:
        cols = {
            "ref_id": np.concatenate([b.ref_id for b, _, _ in parts]),
            "pos": np.concatenate([b.pos for b, _, _ in parts]),
            "end": np.concatenate([b.end for b, _, _ in parts]),
            "flag": np.concatenate([b.flag for b, _, _ in parts]),
            "vb": np.concatenate([v for _, v, _ in parts]),
            "ve": np.concatenate([v for _, _, v in parts]),
        }
    else:
        cols = {k: np.zeros(0, dtype=np.int64) for k in ("ref_id", "pos", "end", "flag")}
        cols["vb"] = cols["ve"] = np.zeros(0, dtype=np.uint64)
    n_ref = len(header.references)
    unmapped = (cols["flag"] & 0x4) != 0
    if min_shift > 0:
        from ..core.index.binning import csi_depth_for_length

        max_len = max((int(length) for _, length in header.references), default=0)
        depth = csi_depth_for_length(max_len, min_shift)
        return idx.build_index(cols["ref_id"], cols["pos"], cols["end"], unmapped, cols["vb"], cols["ve"], n_ref,
                               min_shift=min_shift, depth=depth, fmt="csi")
    return idx.build_index(cols["ref_id"], cols["pos"], cols["end"], unmapped, cols["vb"], cols["ve"], n_ref,
                           min_shift=14, depth=5, fmt="bai")


def write_index(index, target: str, csi: bool) -> None:
    from ..core import index as idx

    (idx.write_csi if csi else idx.write_bai)(index, target)


# -- VCF.gz / BCF (bcftools index 1.16) ---------------------------------------
def _variant_kind(path: str):
    """``"vcf"`` for bgzipped VCF, ``"bcf"`` for BGZF BCF, else ``None``."""
    from ..core.source import sniff_format

    fmt = sniff_format(path) or ""
    if fmt == "bgzf:vcf":
        return "vcf"
    if fmt == "bgzf:bcf":
        return "bcf"
    if fmt == "bgzf:text" and path.lower().endswith(".vcf.gz"):
        return "vcf"
    return None


def _index_variants(path, kind, *, tbi, min_shift, fn_idx, force, err) -> int:
    """``bcftools index`` for VCF.gz (CSI by default, TBI with ``-t``) and BCF (CSI only)."""
    from ..core.index.csi import write_csi
    from ..core.index.tbi import PRESETS, write_tbi

    if kind == "bcf" and tbi:
        print_error(err, "index", "TBI indices for BCF files are not supported")
        return 1
    target = fn_idx or f"{path}.{'tbi' if tbi else 'csi'}"
    if not force and os.path.exists(target):
        if os.stat(path).st_mtime <= os.stat(target).st_mtime:
            err.write(f"[E::main_vcfindex] the index file exists. Please use '-f' to overwrite {target}\n")
            return 1
    try:
        if kind == "vcf":
            from ..core.index.tabix_build import build_tabix_index

            index = build_tabix_index(path, PRESETS["vcf"], min_shift=0 if tbi else min_shift)
        else:
            index = index_bcf(path, min_shift=min_shift)
    except HtsError as exc:
        print_error(err, "index", f'failed to create index for "{path}": {exc}')
        return 1
    try:
        (write_tbi if tbi else write_csi)(index, target)
    except OSError as exc:
        print_error(err, "index", f'failed to create or write index "{target}"', exc.strerror)
        return 1
    return 0


def _bcf_contigs(text: bytes) -> tuple[int, int]:
    """(number of contigs, longest length) from BCF header text, as htslib's contig dictionary holds them."""
    import re

    names: dict = {}
    for line in text.split(b"\n"):
        if not line.startswith(b"##contig=<"):
            continue
        m = re.search(rb"[<,]ID=([^,>]+)", line)
        if not m or m.group(1) in names:
            continue
        ln = re.search(rb"[<,]length=(\d+)", line)
        names[m.group(1)] = int(ln.group(1)) if ln else 0
    return len(names), max(names.values(), default=0)


def index_bcf(path: str, *, min_shift: int = 14):
    """CSI of a BCF, as ``bcftools index`` 1.16 (``bcf_index``).

    Streams the records through :class:`~hts_notebook.core.bgzf.RecordStream`
    (bounded memory) and reads only each record's ``l_shared``, ``l_indiv``,
    ``CHROM``, ``POS`` and ``rlen`` (BCFv2.2 fixed offsets, VCFv4.3 §6.3.1).
    """
    import struct

    from ..core import index as idx
    from ..core.bgzf import BgzfReader, RecordStream
    from ..core.errors import FormatError, TruncatedFileError
    from ..core.formats.variant.bcf import _bcf_record_size
    from ..core.index.tabix_build import _end_voffset

    fixed = struct.Struct("<IIiii")
    chrom, p0, rlen, vb_parts = [], [], [], []
    with BgzfReader(path) as r:
        magic = r.read(5)
        if len(magic) < 5 or magic[:3] != b"BCF":
            raise FormatError("not a BCF file", path=path, offset=0, field="magic")
        l_text, _ = r.read_length("l_text", "BCF header text", signed=False)
        text = r.read(l_text)
        if len(text) < l_text:
            raise TruncatedFileError(f"l_text={l_text} runs past the data", path=path, offset=5, field="l_text")
        first = r.tell()
        n_ids, max_len = _bcf_contigs(text)
        for chunk in RecordStream(r, first, head_size=8, record_size=_bcf_record_size):
            data, p, n = chunk.data, chunk.start, len(chunk.data)
            local = []
            while p + 8 <= n:
                l_shared, l_indiv = struct.unpack_from("<II", data, p)
                if l_shared < 24:
                    raise FormatError(f"l_shared={l_shared} is too small", path=path, offset=chunk.voffset(p),
                                      field="l_shared", virtual=True)
                q = p + 8 + l_shared + l_indiv
                if q > n:
                    break
                _, _, c, pos, rl = fixed.unpack_from(data, p)
                local.append(p)
                chrom.append(c)
                p0.append(pos)
                rlen.append(rl)
                p = q
            chunk.consumed = p
            if local:
                vb_parts.append(chunk.voffsets(np.array(local, dtype=np.int64)))
        vb = np.concatenate(vb_parts) if vb_parts else np.zeros(0, dtype=np.uint64)
        ve = np.empty_like(vb)
        if len(vb):
            ve[:-1] = vb[1:]  # a record ends where the next begins
            # end of data: htslib reports the block after the last data block (the EOF block), offset 0
            ve[-1] = _end_voffset(r.inflate_range(int(vb[-1]) >> 16))
            vb[0] = first
    if max_len == 0:
        max_len = (1 << 31) - 1
    need, depth, s = max_len + 256, 0, 1 << min_shift
    while need > s:
        depth += 1
        s <<= 3
    pos_a = np.array(p0, dtype=np.int64)
    end_a = pos_a + np.array(rlen, dtype=np.int64)
    n_ref = max([n_ids] + [c + 1 for c in chrom])
    index = idx.build_index(np.array(chrom, dtype=np.int64), pos_a, end_a, np.zeros(len(chrom), dtype=bool), vb, ve,
                            n_ref, min_shift=min_shift, depth=depth, fmt="csi", path=path)
    return index
