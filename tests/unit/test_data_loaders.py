"""Dataset loaders: every local format into one Record schema; malformed rows name file + line."""

import json

import pytest

from offchain.data import Record, load, load_records, sample
from offchain.errors import DatasetError, UnknownNameError

SQUAD_ROW = {"id": "q1", "title": "T", "context": "Denver won the game.",
             "question": "Who won?", "answers": ["Denver", "Denver"], "answer_starts": [0, 0]}
CNN_ROW = {"id": "c1", "article": "A long article.", "highlights": "Short.\nSummary ."}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_squad_jsonl_keeps_all_answers_and_context_and_question(tmp_path):
    [rec] = load_records(write_jsonl(tmp_path / "s.jsonl", [SQUAD_ROW]))
    assert rec.task == "extractive_qa"
    assert rec.reference == "Denver" and rec.references == ("Denver", "Denver")
    assert rec.context == "Denver won the game." and rec.question == "Who won?"
    assert "Denver won the game." in rec.input and "Who won?" in rec.input
    assert rec.meta["title"] == "T"


def test_cnn_jsonl_maps_highlights_to_reference(tmp_path):
    [rec] = load_records(write_jsonl(tmp_path / "c.jsonl", [CNN_ROW]))
    assert rec.task == "summarization"
    assert (rec.input, rec.reference, rec.context) == ("A long article.", "Short.\nSummary .",
                                                       "A long article.")


def test_official_squad_json(tmp_path):
    doc = {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "Ctx here.", "qas": [
        {"id": "a", "question": "Q?", "answers": [{"answer_start": 0, "text": "Ctx"},
                                                  {"answer_start": 0, "text": "Ctx here"}]}]}]}]}
    path = tmp_path / "dev-v1.1.json"
    path.write_text(json.dumps(doc))
    [rec] = load_records(path)
    assert rec.references == ("Ctx", "Ctx here") and rec.meta["answer_starts"] == [0, 0]


def test_csv_with_multiline_fields(tmp_path):
    path = tmp_path / "cnn.csv"
    path.write_text('article,highlights,id\n"Line one.\nLine two.","H1\nH2",x1\nArt 2,H,x2\n')
    recs = load_records(path)
    assert [r.id for r in recs] == ["x1", "x2"] and recs[0].input == "Line one.\nLine two."


def test_csv_malformed_row_names_its_starting_line(tmp_path):
    path = tmp_path / "cnn.csv"
    path.write_text('article,highlights,id\n"Multi\nline",H,x1\n,H,x2\n')
    with pytest.raises(DatasetError) as err:
        load_records(path)
    assert err.value.line == 4 and "article" in str(err.value)


def test_unified_round_trip(tmp_path):
    rec = Record(id="r", task="extractive_qa", input="in", reference="a", references=("a", "b"),
                 context="c", question="q")
    [back] = load_records(write_jsonl(tmp_path / "u.jsonl", [rec.to_dict()]))
    assert back == rec


def test_malformed_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(SQUAD_ROW) + "\n{not json\n")
    with pytest.raises(DatasetError) as err:
        load_records(path)
    assert err.value.line == 2 and str(path) in str(err.value) and "invalid JSON" in str(err.value)


def test_missing_field_names_the_field_and_line(tmp_path):
    bad = dict(SQUAD_ROW)
    del bad["question"]
    path = write_jsonl(tmp_path / "s.jsonl", [SQUAD_ROW, SQUAD_ROW, bad])
    with pytest.raises(DatasetError, match=r"s\.jsonl:3: missing field 'question'"):
        load_records(path)


def test_empty_answers_list_is_rejected(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [dict(SQUAD_ROW, answers=[])])
    with pytest.raises(DatasetError, match="answers"):
        load_records(path)


def test_unrecognised_row_says_what_is_expected(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"id": "1", "foo": "bar"}])
    with pytest.raises(DatasetError, match="unrecognised record"):
        load_records(path)


def test_task_mismatch_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="expected 'summarization'"):
        load_records(write_jsonl(tmp_path / "s.jsonl", [SQUAD_ROW]), task="summarization")


def test_limit_and_blank_lines(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(SQUAD_ROW) + "\n\n" + json.dumps(dict(SQUAD_ROW, id="q2")) + "\n")
    assert [r.id for r in load_records(path)] == ["q1", "q2"]
    assert len(load_records(path, limit=1)) == 1


def test_unknown_dataset_name_suggests_close_match():
    with pytest.raises(UnknownNameError, match="did you mean 'squad'"):
        load("squadd")


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("x")
    with pytest.raises(DatasetError, match="unsupported file type"):
        load_records(path)


def test_sample_is_seeded_and_keeps_order():
    items = list(range(100))
    a, b = sample(items, 10, seed=7), sample(items, 10, seed=7)
    assert a == b and a == sorted(a) and len(set(a)) == 10
    assert sample(items, 10, seed=8) != a
    assert sample(items, 500, seed=1) == items
