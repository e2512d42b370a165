"""The registry of dataset variable names (DESIGN.md §3, sgkit / VCF Zarr style).

Every builder produces variables listed here, with the dimensions and dtype
listed here; :func:`validate` checks a dataset against the registry.  Names
ending ``_position`` are 1-based; ``_start`` / ``_stop`` pairs are 0-based
half-open.  Families other than alignments add their names with
:func:`register` from their own builder modules.

Templated names (``alignment_tag_{tag}``) stand for one variable per aux tag;
their dims/dtype depend on the tag's BAM type and are checked loosely.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["VariableSpec", "VARIABLES", "TEMPLATES", "register", "spec_for", "validate", "VariableError"]


@dataclass(frozen=True)
class VariableSpec:
    """What a variable must look like.

    Attributes
    ----------
    dims : tuple of str
        Dimension names, in order.
    dtype : str
        A numpy dtype string (``"int64"``) or a kind class: ``"int"``
        (any signed/unsigned integer), ``"float"``, ``"str"`` (``U`` or
        ``S``), ``"any"``.
    doc : str
        One-line meaning, units and coordinate system.
    """

    dims: tuple
    dtype: str
    doc: str

    def dtype_ok(self, dt: np.dtype) -> bool:
        if self.dtype == "any":
            return True
        if self.dtype == "int":
            return dt.kind in "iu"
        if self.dtype == "float":
            return dt.kind == "f"
        if self.dtype == "str":
            return dt.kind in "USO"
        return dt == np.dtype(self.dtype)


class VariableError(ValueError):
    """A dataset variable does not match the registry."""


VARIABLES: dict[str, VariableSpec] = {}
TEMPLATES: dict[str, VariableSpec] = {}


def register(name: str, dims, dtype: str, doc: str) -> VariableSpec:
    """Add (or replace) a registry entry; names containing ``{`` are templates."""
    spec = VariableSpec(tuple(dims), dtype, doc)
    (TEMPLATES if "{" in name else VARIABLES)[name] = spec
    return spec


def _template_regex(name: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[A-Za-z][A-Za-z0-9]", re.escape(name)) + "$")


def spec_for(name: str) -> VariableSpec | None:
    """The registry entry of a variable name (templates resolved), or None."""
    if name in VARIABLES:
        return VARIABLES[name]
    for tname, spec in TEMPLATES.items():
        if _template_regex(tname).match(name):
            return spec
    return None


def validate(ds, *, allow_unknown: bool = False):
    """Check every variable of ``ds`` against the registry.

    Parameters
    ----------
    ds : xarray.Dataset
    allow_unknown : bool
        Accept variables that the registry does not list.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, for chaining.

    Raises
    ------
    VariableError
        Unknown name, wrong dimensions or wrong dtype.
    """
    for name, var in ds.variables.items():
        spec = spec_for(str(name))
        if spec is None:
            if allow_unknown or name in ds.dims:
                continue
            raise VariableError(f"variable {name!r} is not in the registry")
        if "{" in "".join(spec.dims):
            ok_dims = len(var.dims) == len(spec.dims) and all(
                a == b or "{" in b for a, b in zip(var.dims, spec.dims))
        else:
            ok_dims = tuple(var.dims) == spec.dims
        if not ok_dims:
            raise VariableError(f"variable {name!r} has dims {var.dims}, registry says {spec.dims}")
        if not spec.dtype_ok(var.dtype):
            raise VariableError(f"variable {name!r} has dtype {var.dtype}, registry says {spec.dtype}")
    return ds


# ---------------------------------------------------------------- contigs
register("contig_id", ("contigs",), "str", "Reference sequence name (@SQ SN), header order.")
register("contig_length", ("contigs",), "int64", "Reference sequence length in bases (@SQ LN).")

# ---------------------------------------------------------------- alignments (SAMv1 §1.4)
_A = ("alignments",)
_AO = ("alignments_offsets",)
register("alignment_name", _A, "str", "Read name (QNAME), fixed-width string.")
register("alignment_flag", _A, "uint16", "Bitwise FLAG (0x4 unmapped, 0x10 reverse, 0x100 secondary ...).")
register("alignment_contig", _A, "int32", "Index into contig_id of RNAME; -1 for '*'.")
register("alignment_start", _A, "int64", "0-based leftmost mapped position (POS - 1); -1 when unset.")
register("alignment_stop", _A, "int64",
         "0-based exclusive reference end from the CIGAR (htslib bam_endpos; start + 1 for unmapped "
         "reads and when nothing consumes the reference).")
register("alignment_position", _A, "int64", "1-based POS as SAM writes it; 0 when unset.")
register("alignment_mapping_quality", _A, "uint8", "MAPQ; 255 means unavailable.")
register("alignment_mate_contig", _A, "int32", "Index into contig_id of RNEXT; -1 for '*'.")
register("alignment_mate_start", _A, "int64", "0-based PNEXT (PNEXT - 1); -1 when unset.")
register("alignment_template_length", _A, "int64", "Observed template length TLEN (signed).")
register("alignment_cigar_op", ("cigar_ops",), "uint8",
         "CIGAR operation codes, flat: 0-8 = M I D N S H P = X (SAMv1 §4.2.2).")
register("alignment_cigar_length", ("cigar_ops",), "uint32", "CIGAR operation lengths, flat.")
register("alignment_cigar_offset", _AO, "int64",
         "Alignment i's CIGAR operations are cigar_ops[offset[i]:offset[i+1]]; length n + 1.")
register("alignment_sequence", ("bases",), "uint8",
         "Read bases as ASCII codes (=ACMGRSVTWYHKDBN), flat; an empty range means SEQ '*'.")
register("alignment_quality", ("bases",), "uint8",
         "Phred base qualities, flat, aligned with alignment_sequence; 255 throughout a read means QUAL '*'.")
register("alignment_sequence_offset", _AO, "int64",
         "Alignment i's bases are bases[offset[i]:offset[i+1]]; length n + 1.")
register("alignment_tag_{tag}", ("{alignments | tag_{tag}_values}",), "any",
         "Aux tag with one type across the batch, on dim alignments: integers int64 (missing -1), f "
         "float32 (missing NaN), A/Z/H strings (missing ''). B arrays are flat on dim tag_{tag}_values "
         "(integers int64, floats float32) with alignment_tag_{tag}_offset.")
register("alignment_tag_{tag}_offset", _AO, "int64",
         "Alignment i's B-array values are alignment_tag_{tag}[offset[i]:offset[i+1]]; length n + 1.")
