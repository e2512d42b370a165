"""``call``: SNP calling straight from alignments to VCF (GT:PL:DP:AD).

Usage: ``call -f REF [-r REGION] [-o out.vcf] in.bam [in.bam ...]``

A one-step stand-in for ``bcftools mpileup -f REF in.bam | bcftools call -mv``
built on :func:`hts_notebook.core.call.call_batch` (see that module for the
model and the documented differences: no BAQ, SNPs only, a per-sample
genotype prior).  PL values equal ``bcftools mpileup -B`` at the same sites.
Output is plain VCF, or BGZF when ``-o`` ends ``.gz``/``.bgz`` or ``-Oz``.
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

from . import UsageError
from ._args import c_atoi, getopt

USAGE = (
    "Usage: call [options] -f ref.fa in.bam [in.bam ...]\n"
    "\nOptions:\n"
    "  -f, --fasta-ref FILE    Indexed reference FASTA [required]\n"
    "  -r, --regions REG       Region chr, chr:from-to (1-based) [all]\n"
    "  -o, --output FILE       Write output to FILE [stdout]\n"
    "  -O, --output-type v|z   Plain or BGZF-compressed VCF [v, z for .gz names]\n"
    "  -Q, --min-BQ INT        Skip bases with baseQ smaller than INT [1]\n"
    "  -q, --min-MQ INT        Skip reads with mapQ smaller than INT [0]\n"
    "      --max-BQ INT        Limit baseQ to no more than INT [60]\n"
    "      --delta-BQ INT      Use neighbour_qual + INT if less than qual [30]\n"
    "  -d, --max-depth INT     Max raw per-file depth [250]\n"
    "  -P, --prior FLOAT       Heterozygosity theta of the genotype prior [1.1e-3]\n"
    "  -A, --all-sites         Keep every site with a non-reference base, not just variants\n"
    "  -x, --ignore-overlaps-removal  Disable overlapping-mate quality adjustment\n"
    "      --backend jax|numpy Genotype-likelihood kernel [jax]\n"
)

_LONG = {
    "fasta-ref": (True, "f"), "regions": (True, "r"), "region": (True, "r"), "output": (True, "o"),
    "output-type": (True, "O"), "min-BQ": (True, "Q"), "min-MQ": (True, "q"), "max-BQ": (True, "max-BQ"),
    "delta-BQ": (True, "delta-BQ"), "max-depth": (True, "d"), "prior": (True, "P"), "all-sites": (False, "A"),
    "ignore-overlaps-removal": (False, "x"), "backend": (True, "backend"), "help": (False, "h"),
}


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    """Parse ``argv``, call SNPs, write VCF to ``out`` (or ``-o``); returns the exit status."""
    from ..core.call import call_batch
    from ..core.formats.variant.vcf import write_vcf

    args = getopt(argv, "f:r:o:O:Q:q:d:P:Axh", _LONG, tool="call")
    if args.has("h"):
        out.write(USAGE.encode())
        return 0
    ref = args.last("f")
    if not args.operands:
        err.write(USAGE)
        return 1
    if ref is None:
        raise UsageError("a reference is required (-f ref.fa)")
    try:
        prior = float(args.last("P", "1.1e-3"))
    except ValueError:
        raise UsageError(f"-P expects a number, got {args.last('P')!r}") from None
    backend = args.last("backend", "jax")
    if backend not in ("jax", "numpy"):
        raise UsageError(f"--backend must be jax or numpy, got {backend!r}")
    kwargs = dict(min_base_quality=c_atoi(args.last("Q", "1")), min_mapping_quality=c_atoi(args.last("q", "0")),
                  max_base_quality=c_atoi(args.last("max-BQ", "60")),
                  delta_base_quality=c_atoi(args.last("delta-BQ", "30")), max_depth=c_atoi(args.last("d", "250")),
                  prior=prior, variants_only=not args.has("A"), ignore_overlaps=not args.has("x"), backend=backend)
    try:
        header, batch = call_batch(list(args.operands), ref, args.last("r"), **kwargs)
    except ValueError as exc:
        if type(exc) is ValueError:
            raise UsageError(str(exc)) from None
        raise
    target = args.last("o")
    otype = args.last("O")
    compress = None if otype is None else otype.startswith(("z", "b"))
    if target is None or target == "-":
        write_vcf(out, header, batch, compress=bool(compress))
    else:
        write_vcf(target, header, batch, compress=compress)
    return 0
