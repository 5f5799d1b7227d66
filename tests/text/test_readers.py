"""CoNLL and CoNLL-U readers on tiny files in the real layouts, and their errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.text.readers import read_conll, read_conllu, write_conll

# CoNLL-2003: token, POS, chunk, NER; a document marker and its blank line open the file.
CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_read_conll_sentences_tags_and_sources(tmp_path: Path) -> None:
    frame = read_conll(write(tmp_path / "train.txt", CONLL_2003))
    assert list(frame.columns) == ["tokens", "tags", "source"]
    assert frame["tokens"].tolist() == [
        ["EU", "rejects", "German", "call", "."],
        ["Peter", "Blackburn"],
        ["BRUSSELS"],
    ]
    assert frame["tags"].tolist() == [
        ["B-ORG", "O", "B-MISC", "O", "O"],
        ["B-PER", "I-PER"],
        ["B-LOC"],
    ]
    assert frame["source"].tolist() == ["train.txt line 3", "train.txt line 9", "train.txt line 14"]
    pos = read_conll(tmp_path / "train.txt", tag_column=1)
    assert pos["tags"][1] == ["NNP", "NNP"]


def test_read_conll_separator_crlf_and_missing_final_blank(tmp_path: Path) -> None:
    text = "\ufeffNew York\tNNP\tB-LOC\r\nis\tVBZ\tO\r\n\r\n\r\nok\tJJ\tO"
    frame = read_conll(write(tmp_path / "tabs.tsv", text), separator="\t")
    assert frame["tokens"].tolist() == [["New York", "is"], ["ok"]]
    assert frame["tags"].tolist() == [["B-LOC", "O"], ["O"]]
    assert frame["source"].tolist() == ["tabs.tsv line 1", "tabs.tsv line 5"]


def test_read_conll_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    text = CONLL_2003.replace("call NN I-NP O", "call NN O")
    with pytest.raises(DataError, match=r"bad\.txt: line 6: 3 columns.*line 3\) has 4") as caught:
        read_conll(write(tmp_path / "bad.txt", text))
    assert str(tmp_path / "bad.txt") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_read_conll_column_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path / "train.txt", CONLL_2003)
    with pytest.raises(DataError, match=r"train\.txt: line 3: no column 4 for tags.*4 columns"):
        read_conll(path, tag_column=4)
    with pytest.raises(DataError, match=r"line 3: no column -5 for tokens"):
        read_conll(path, token_column=-5)


def test_read_conll_bad_utf8(tmp_path: Path) -> None:
    text = CONLL_2003.encode("utf-8").replace(b"German", b"Germ\xe4n")  # Latin-1 "ä"
    path = write(tmp_path / "latin1.txt", text)
    with pytest.raises(DataError, match=r"latin1\.txt: line 5: not UTF-8.*0xe4.*replace"):
        read_conll(path)
    frame = read_conll(path, encoding_errors="replace")
    assert frame["tokens"][0][2] == "Germ\ufffdn"
    with pytest.raises(DataError, match="encoding_errors"):
        read_conll(path, encoding_errors="ignore-it")


def test_read_conll_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty\.txt: no sentences"):
        read_conll(write(tmp_path / "empty.txt", ""))
    with pytest.raises(DataError, match=r"markers\.txt: no sentences"):
        read_conll(write(tmp_path / "markers.txt", "-DOCSTART- -X- -X- O\n\n\n"))
    with pytest.raises(DataError, match=r"nowhere\.txt: file not found"):
        read_conll(tmp_path / "nowhere.txt")


# CoNLL-U with a multi-word token (3-4), an empty node (5.1) and NER in the MISC column.
CONLLU = "\n".join(
    [
        "# sent_id = 1",
        "# text = Vámonos al mar.",
        "1\tVamos\tir\tVERB\tVMM\t_\t0\troot\t_\tNER=O",
        "2\tnos\tnosotros\tPRON\tPP\t_\t1\tobj\t_\tSpaceAfter=No",
        "3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_",
        "3\ta\ta\tADP\tSP\t_\t5\tcase\t_\t_",
        "4\tel\tel\tDET\tDA\t_\t5\tdet\t_\t_",
        "5\tmar\tmar\tNOUN\tNC\t_\t1\tobl\t_\tNER=B-LOC|SpaceAfter=No",
        "5.1\tirse\tir\tVERB\t_\t_\t_\t_\t1:conj\t_",
        "6\t.\t.\tPUNCT\tFp\t_\t1\tpunct\t_\t_",
        "",
        "# sent_id = 2",
        "1\tMadrid\tMadrid\tPROPN\tNP\t_\t0\troot\t_\tNER=B-LOC",
        "",
        "",
    ]
)


def test_read_conllu_skips_ranges_empty_nodes_and_comments(tmp_path: Path) -> None:
    path = write(tmp_path / "es-ud-train.conllu", CONLLU)
    frame = read_conllu(path)
    assert frame["tokens"].tolist() == [["Vamos", "nos", "a", "el", "mar", "."], ["Madrid"]]
    assert frame["tags"][0] == ["VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT"]
    assert frame["source"].tolist() == ["es-ud-train.conllu line 3", "es-ud-train.conllu line 13"]
    assert read_conllu(path, tag_field="xpos")["tags"][1] == ["NP"]
    ner = read_conllu(path, tag_field="misc:NER")
    assert ner["tags"].tolist() == [["O", "O", "O", "O", "B-LOC", "O"], ["B-LOC"]]


def test_read_conllu_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.conllu", CONLLU)
    with pytest.raises(DataError, match=r"tag_field: expected 'upos', 'xpos' or 'misc:<Key>'"):
        read_conllu(path, tag_field="lemma")
    with pytest.raises(DataError, match="tag_field"):
        read_conllu(path, tag_field="misc:")
    spaces = CONLLU.replace("2\tnos\tnosotros", "2 nos nosotros")
    with pytest.raises(DataError, match=r"spaces\.conllu: line 4: 8 tab-separated columns.*10"):
        read_conllu(write(tmp_path / "spaces.conllu", spaces))
    bad_id = CONLLU.replace("6\t.\t.", "x\t.\t.")
    with pytest.raises(DataError, match=r"id\.conllu: line 10: 'x' is not a CoNLL-U word ID"):
        read_conllu(write(tmp_path / "id.conllu", bad_id))
    latin = CONLLU.encode("utf-8").replace(b"V\xc3\xa1monos", b"V\xe1monos")
    latin_path = write(tmp_path / "latin.conllu", latin)
    with pytest.raises(DataError, match=r"latin\.conllu: line 2: not UTF-8"):
        read_conllu(latin_path)
    assert len(read_conllu(latin_path, encoding_errors="replace")) == 2
    with pytest.raises(DataError, match=r"comments\.conllu: no sentences"):
        read_conllu(write(tmp_path / "comments.conllu", "# only a comment\n\n"))


def test_write_conll_round_trip(tmp_path: Path) -> None:
    frame = read_conll(write(tmp_path / "train.txt", CONLL_2003))
    written = write_conll(frame, tmp_path / "out" / "two.txt")
    assert written.read_text(encoding="utf-8").startswith("EU B-ORG\nrejects O\n")
    again = read_conll(written)
    assert again["tokens"].tolist() == frame["tokens"].tolist()
    assert again["tags"].tolist() == frame["tags"].tolist()
    assert again["source"].tolist() == ["two.txt line 1", "two.txt line 7", "two.txt line 10"]


def test_write_conll_refuses_fields_that_would_shift_columns(tmp_path: Path) -> None:
    spaced = pd.DataFrame({"tokens": [["New York", "é"]], "tags": [["B-LOC", "O"]]})
    with pytest.raises(DataError, match=r"'New York' holds whitespace"):
        write_conll(spaced, tmp_path / "spaced.txt")
    path = write_conll(spaced, tmp_path / "tabbed.tsv", separator="\t")
    assert read_conll(path, separator="\t")["tokens"][0] == ["New York", "é"]
    uneven = pd.DataFrame({"tokens": [["a", "b"]], "tags": [["O"]]})
    with pytest.raises(DataError, match="row 1: 2 tokens but 1 tags"):
        write_conll(uneven, tmp_path / "uneven.txt")
    with pytest.raises(DataError, match="no tags"):
        write_conll(pd.DataFrame({"tokens": [["a"]]}), tmp_path / "untagged.txt")


def test_a_missing_file_named_for_prediction_is_not_taken_as_its_text(tmp_path):
    from toolkit.data.text_check import read_prediction_texts

    for name in ("missing.txt", "reviews.csv", "clip.wav", "/tmp/nowhere/notes"):
        with pytest.raises(DataError, match="no such file"):
            read_prediction_texts([name])
    assert read_prediction_texts(["and/or", "a great film", "fine."]) == [
        "and/or",
        "a great film",
        "fine.",
    ]


def test_null_text_in_a_prediction_manifest_is_named(tmp_path):
    from toolkit.data.text_check import read_prediction_texts

    manifest = tmp_path / "texts.jsonl"
    manifest.write_text('{"text": "a good one"}\n{"text": null}\n')
    with pytest.raises(DataError, match="texts.jsonl row 2: text is empty"):
        read_prediction_texts([str(manifest)])
