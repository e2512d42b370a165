"""alignment_dataset: variables, raggedness, tags, registry validation."""
from __future__ import annotations

import numpy as np
import pytest

from hts_notebook.core.dataset.alignment import alignment_dataset, scan_aux
from hts_notebook.core.dataset.variables import VARIABLES, VariableError, spec_for, validate
from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.alignment.bam import decode_records, encode_records
from hts_notebook.core.formats.alignment.batch import batch_from_columns, cigar_from_string, encode_seq
from hts_notebook.core.formats.alignment.header import AlignmentHeader
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from hts_notebook.core.region import Region
from tests.conftest import corpus_files, ids, requires_shared

pytest.importorskip("xarray")

HEADER = AlignmentHeader("@SQ\tSN:c1\tLN:100\n@SQ\tSN:c2\tLN:50\n", [("c1", 100), ("c2", 50)])


def _batch():
    aux = [
        b"NMC\x02" + b"Xff" + np.float32(1.5).tobytes() + b"RGZgrp1\x00" + b"ZBBs" + (2).to_bytes(4, "little") + np.array([-1, 7], "<i2").tobytes(),
        b"NMs" + (-300).to_bytes(2, "little", signed=True) + b"XAAq" + b"MIZ1\x00",
        b"MIiX\x00\x00\x00",
    ]
    b = batch_from_columns(
        ref_id=[0, 1, -1], pos=[4, 0, -1], end=[0, 0, 0], mapq=[30, 0, 255], bin=[0, 0, 0], flag=[99, 16, 4],
        next_ref_id=[0, -1, -1], next_pos=[20, -1, -1], tlen=[25, 0, 0], name=[b"r1", b"read_two", b"u"],
        cigar=[cigar_from_string("3M1I2M"), cigar_from_string("5S4M"), cigar_from_string("*")],
        seq=[encode_seq(b"ACGTAC"), encode_seq(b"NNACGTACG"), encode_seq(b"")],
        qual=[[30] * 6, [20] * 9, []], aux=aux,
    )
    data, _ = encode_records(b)
    return decode_records(data, final=True)[0]


def test_alignment_dataset__core_variables():
    ds = alignment_dataset(_batch(), HEADER, region=Region("c1", 0, 10), source="x.bam")
    validate(ds)
    assert ds.sizes["alignments"] == 3 and ds.sizes["alignments_offsets"] == 4
    assert ds.alignment_name.values.tolist() == ["r1", "read_two", "u"]
    assert ds.alignment_start.values.tolist() == [4, 0, -1]
    assert ds.alignment_stop.values.tolist() == [9, 4, 0]
    assert ds.alignment_position.values.tolist() == [5, 1, 0]
    assert ds.alignment_contig.values.tolist() == [0, 1, -1]
    assert ds.contig_id.values.tolist() == ["c1", "c2"] and ds.contig_length.values.tolist() == [100, 50]
    assert ds.alignment_cigar_offset.values.tolist() == [0, 3, 5, 5]
    assert ds.alignment_cigar_op.values.tolist() == [0, 1, 0, 4, 0]
    assert ds.alignment_cigar_length.values.tolist() == [3, 1, 2, 5, 4]
    off = ds.alignment_sequence_offset.values
    assert off.tolist() == [0, 6, 15, 15]
    assert ds.alignment_sequence.values[off[1]:off[2]].tobytes() == b"NNACGTACG"
    assert ds.alignment_quality.values[:6].tolist() == [30] * 6
    assert ds.attrs == {"region": "c1:1-10", "source": "x.bam"}


def test_alignment_dataset__tags_one_type_each():
    ds = alignment_dataset(_batch(), HEADER)
    assert ds.alignment_tag_NM.dtype == np.int64 and ds.alignment_tag_NM.values.tolist() == [2, -300, -1]
    assert np.isnan(ds.alignment_tag_Xf.values[1]) and ds.alignment_tag_Xf.values[0] == np.float32(1.5)
    assert ds.alignment_tag_RG.values.tolist() == ["grp1", "", ""]
    assert ds.alignment_tag_XA.values.tolist() == ["", "q", ""]
    assert ds.alignment_tag_ZB.values.tolist() == [-1, 7]
    assert ds.alignment_tag_ZB_offset.values.tolist() == [0, 2, 2, 2]
    assert "alignment_tag_MI" not in ds  # Z in one record, i in another
    assert ds.attrs["region"] == ""
    validate(ds)


def test_scan_aux__rejects_bad_type_and_overrun():
    with pytest.raises(FormatError, match="unknown aux type"):
        scan_aux(np.frombuffer(b"XXq\x00", np.uint8), np.array([0, 4]))
    with pytest.raises(FormatError, match="past the record"):
        scan_aux(np.frombuffer(b"XXi\x00\x00", np.uint8), np.array([0, 5]))
    with pytest.raises(FormatError, match="NUL"):
        scan_aux(np.frombuffer(b"XXZab", np.uint8), np.array([0, 5]))
    with pytest.raises(FormatError, match="subtype"):
        scan_aux(np.frombuffer(b"XXBq\x00\x00\x00\x00", np.uint8), np.array([0, 8]))


def test_validate__catches_wrong_dims_and_unknown_names():
    ds = alignment_dataset(_batch(), HEADER)
    with pytest.raises(VariableError):
        validate(ds.assign(bogus=("alignments", np.zeros(3))))
    with pytest.raises(VariableError):
        validate(ds.assign(alignment_flag=("alignments", np.zeros(3, dtype=np.float64))))
    assert spec_for("alignment_tag_NM") is not None and spec_for("alignment_tag_NMX") is None
    assert all(spec.doc for spec in VARIABLES.values())


def test_alignment_dataset__empty_batch():
    from hts_notebook.core.formats.alignment.batch import AlignmentBatch

    ds = alignment_dataset(AlignmentBatch.empty(), HEADER)
    validate(ds)
    assert ds.sizes["alignments"] == 0 and ds.sizes["alignments_offsets"] == 1


BAMS = corpus_files("bam", (".bam",))


@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_alignment_dataset__corpus_tags_match_decode_aux(path):
    aux_mod = pytest.importorskip("hts_notebook.core.formats.alignment.aux")
    with AlignmentFile(path) as f:
        ds = f.query()
        batch = f.fetch_batch()
    validate(ds)
    assert ds.sizes["alignments"] == len(batch)
    for i in range(min(len(batch), 200)):
        for tag, typ, val in aux_mod.decode_aux(batch.aux_bytes(i)):
            name = "alignment_tag_" + tag
            if name not in ds:
                continue
            if typ.startswith("B"):
                o = ds[name + "_offset"].values
                got = ds[name].values[o[i]:o[i + 1]]
                np.testing.assert_allclose(got, np.asarray(val, dtype=got.dtype))
            elif typ == "f":
                assert np.float32(ds[name].values[i]) == np.float32(val)
            else:
                assert ds[name].values[i].item() == val
