"""`import hts_notebook` stays light: no jax, IPython or anywidget."""
import subprocess
import sys


def test_import__does_not_load_heavy_modules():
    code = (
        "import sys, hts_notebook, hts_notebook.demo, hts_notebook.tools\n"
        "heavy = [m for m in ('jax', 'IPython', 'anywidget', 'ipywidgets') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_errors__inherit_builtins():
    import hts_notebook as hts

    assert issubclass(hts.FormatError, ValueError)
    assert issubclass(hts.TruncatedFileError, EOFError)
    assert issubclass(hts.MissingIndexError, FileNotFoundError)
    assert issubclass(hts.RegionError, KeyError)
    assert issubclass(hts.LimitExceededError, MemoryError)
    err = hts.FormatError("l_seq=151 but block_size leaves 80 bytes", path="x.bam", offset=(0x1A2B << 16) | 0x40, field="l_seq", virtual=True)
    assert str(err) == "x.bam at 0x1a2b:0x40: l_seq=151 but block_size leaves 80 bytes"
    assert err.field == "l_seq"


def test_sniff_bytes__bed12_is_not_sam():
    from hts_notebook.core.source import sniff_bytes

    assert sniff_bytes(b"chr1\t10\t200\tgene\t0\t+\t10\t200\t0,0,0\t2\t10,20\t0,170\n") == "text"
    assert sniff_bytes(b"r1\t0\tchr1\t5\t60\t10M\t*\t0\t0\tACGTACGTAC\t*\n") == "sam"
