"""Variant formats: VCF text and BCF, one shared header model and columnar batch.

Modules: :mod:`.header` (:class:`VariantHeader`), :mod:`.batch`
(:class:`VariantBatch`), :mod:`.vcf` (text reader / writer), :mod:`.vcf_validate`
(strict-mode checks), :mod:`.reader` (:class:`VariantFile`), and the BCF codec.
"""
from __future__ import annotations

from .batch import VariantBatch
from .header import ContigDef, FieldDef, FilterDef, VariantHeader

__all__ = ["VariantHeader", "VariantBatch", "FieldDef", "FilterDef", "ContigDef"]
