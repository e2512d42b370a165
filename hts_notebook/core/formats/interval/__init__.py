"""Interval files: bgzipped BED / GFF3 / GTF / generic TSV through a tabix index."""
from .tabix_file import TabixFile, load_tabix_index

__all__ = ["TabixFile", "load_tabix_index"]
