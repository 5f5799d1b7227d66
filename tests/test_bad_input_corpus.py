"""Every input of the bad-input corpus (tests/bad_inputs.py) gets the outcome written beside it,
and docs/bad_inputs.md lists them as they are."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from tests.bad_inputs import CASES, SIGNATURE_CASES, Workspace, markdown
from tests.tiny_data import REPO, run_without_toolkit
from toolkit.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("bad_inputs"))


class Lines(logging.Handler):
    """The toolkit's log lines (its handler writes to the stderr of the process's start, which
    the command runner does not capture)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case, workspace: Workspace, monkeypatch):
    monkeypatch.chdir(workspace.folder)
    arguments = case.arguments(workspace)
    logged = Lines()
    logger = logging.getLogger("toolkit")
    logger.addHandler(logged)
    try:
        result = CliRunner().invoke(main, arguments)
    finally:
        logger.removeHandler(logged)
    output = result.output + "\n".join(logged.lines)
    assert "Traceback" not in output, output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if case.outcome == "error":
        assert result.exit_code == 2, output
        errors = [line for line in lines if line.startswith(("error:", "Error:"))]
        assert len(errors) == 1, output
        for fragment in case.expect:
            assert fragment in errors[0], errors[0]
        assert "unexpected" not in errors[0]
    else:
        assert result.exit_code == 0, output
        if case.outcome == "warned":
            warned = [line for line in lines if all(f in line for f in case.expect)]
            assert warned, output


def test_the_corpus_is_large_and_its_table_is_current():
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)
    assert (REPO / "docs" / "bad_inputs.md").read_text() == markdown()


# Runs in a fresh interpreter that never imports the toolkit: each case's bytes through the
# wav_bytes signature, the error message (or "ok") written as JSON.
SIGNATURE_SCRIPT = """
import json, sys
import tensorflow as tf
assert "toolkit" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
cases = json.load(open(sys.argv[2]))
found = {}
for name, items in cases.items():
    try:
        model.signatures["wav_bytes"](wav_bytes=tf.constant([bytes.fromhex(i) for i in items]))
        found[name] = "ok"
    except tf.errors.InvalidArgumentError as error:
        found[name] = error.message
json.dump(found, open(sys.argv[3], "w"))
assert "toolkit" not in sys.modules
"""


@pytest.mark.parametrize("run", ["audio_run", "speech_run"])
def test_bad_bytes_through_the_wav_bytes_signature(run: str, workspace: Workspace):
    folder = workspace.path(f"signature_{run}")
    folder.mkdir()
    cases = {case.name: [item.hex() for item in case.items()] for case in SIGNATURE_CASES}
    (folder / "cases.json").write_text(json.dumps(cases))
    export = getattr(workspace, run) / "export" / "saved_model"
    run_without_toolkit(SIGNATURE_SCRIPT, folder, str(export), "cases.json", "found.json")
    found = json.loads((folder / "found.json").read_text())
    for case in SIGNATURE_CASES:
        assert all(fragment in found[case.name] for fragment in case.expect), found[case.name]
