"""The README's tour runs as pasted, in order, from a copy of the repository layout.

Every ```bash block of "## A short tour" is read with shell quoting and comments (shlex), and
its `toolkit` commands run one after the other in a folder holding copies of `recipes/` and
`assets/`, as a fresh clone has them; `toolkit run`, `toolkit train` and `toolkit finetune`
get tiny settings appended. A command whose comment starts with "needs" (`# needs the dataset`, `# needs your
data`), or every command of a block whose first line is such a comment, needs data the project
does not ship and is only read. The ```python blocks ("From Python", "Load the SavedModel from
plain TensorFlow") then run as one script in a subprocess in the same folder, with the same
tiny settings, each block up to its first line with such a comment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TINY_SETTINGS = ["--set", "train.epochs=1"]
TRAINING_COMMANDS = {"run", "train", "finetune"}
NEEDS = re.compile(r"#\s*needs\b")


@dataclass
class Command:
    text: str  # as written in the README, continuation lines joined
    args: list[str]  # after the shell's quoting and comments
    needs: str | None  # the "needs ..." comment of a command only read, else None


def section(markdown: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    in_code = False
    for end in range(start, len(lines)):
        in_code ^= lines[end].startswith("```")
        hashes = len(lines[end]) - len(lines[end].lstrip("#"))
        if not in_code and 0 < hashes <= level and lines[end][hashes : hashes + 1] == " ":
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", markdown, flags=re.DOTALL | re.MULTILINE)


def comment_of(line: str) -> str:
    """The shell comment ending a line ("" if none): the first word that starts with `#`."""
    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words = list(lexer)
    for index, word in enumerate(words):
        if word.startswith("#"):
            return " ".join(words[index:])
    return ""


def commands(block: str) -> list[Command]:
    lines = block.replace("\\\n", " ").splitlines()
    block_needs = lines[0].strip() if lines and NEEDS.match(lines[0].strip()) else None
    found = []
    for line in lines:
        args = shlex.split(line, comments=True)
        if not args:
            continue
        comment = comment_of(line)
        needs = comment if NEEDS.match(comment) else block_needs
        found.append(Command(line.strip(), args, needs))
    return found


def tour_commands() -> list[Command]:
    tour = section(README.read_text(encoding="utf-8"), "## A short tour")
    return [command for block in code_blocks(tour, "bash") for command in commands(block)]


def python_examples() -> str:
    """The tour's ```python blocks as one script, each up to its first line that `# needs`."""
    tour = section(README.read_text(encoding="utf-8"), "## A short tour")
    script = []
    for block in code_blocks(tour, "python"):
        for line in block.splitlines():
            if NEEDS.search(line):
                break
            script.append(line)
    return "\n".join(script) + "\n"


def test_the_reader_sees_quotes_comments_continuations_and_marks():
    block = textwrap.dedent(
        """\
        toolkit predict runs/x "a # quoted" --top-k 3   # a comment
        toolkit run a.yaml \\
          --set data.root=/path/to/it   # needs the dataset
        # a comment line
        toolkit run b.yaml
        """
    )
    read = commands(block)
    assert [command.args for command in read] == [
        ["toolkit", "predict", "runs/x", "a # quoted", "--top-k", "3"],
        ["toolkit", "run", "a.yaml", "--set", "data.root=/path/to/it"],
        ["toolkit", "run", "b.yaml"],
    ]
    assert [command.needs for command in read] == [None, "# needs the dataset", None]
    marked = commands("# needs your clips\ntoolkit data check own.yaml\n")
    assert marked[0].needs == "# needs your clips"


def test_the_tour_has_commands_to_run_and_to_read():
    read = tour_commands()
    assert all(command.args[0] == "toolkit" for command in read), [c.text for c in read]
    ran = [command for command in read if command.needs is None]
    assert len(ran) >= 10 and len(read) > len(ran)
    # Every command that is only read says why; every placeholder name is in one of them.
    # A placeholder is a name standing alone (train.csv), not a shipped file (assets/.../train.csv).
    for placeholder in ("my_clips/", "/path/to/", "train.csv", "clip.wav", "utterance.wav"):
        alone = re.compile(r"(?<![\w/.])" + re.escape(placeholder))
        for command in ran:
            assert not alone.search(command.text), command.text
        assert not alone.search(python_examples())
    assert "toolkit.run(" in python_examples() and "serving_default" in python_examples()


def log_to_the_next_stderr() -> None:
    """Have the next command's progress lines go to its own captured stderr."""
    logger = logging.getLogger("toolkit")
    for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> tuple[Path, list[str]]:
    """A folder laid out as a fresh clone, after the tour's commands; and what failed."""
    folder = tmp_path_factory.mktemp("tour")
    for name in ("recipes", "assets"):
        shutil.copytree(ROOT / name, folder / name)
    environment = dict(os.environ)
    failures = []
    try:
        with contextlib.chdir(folder):
            for command in tour_commands():
                if command.needs is not None:
                    continue
                args = command.args[1:]
                if args[0] in TRAINING_COMMANDS:
                    args += TINY_SETTINGS
                started = time.perf_counter()
                log_to_the_next_stderr()
                result = CliRunner().invoke(main, args, prog_name="toolkit")
                seconds = time.perf_counter() - started
                print(f"{seconds:6.1f} s  {command.text}")
                if result.exit_code != 0:
                    trace = ""
                    if result.exc_info and not isinstance(result.exception, SystemExit):
                        trace = "".join(traceback.format_exception(*result.exc_info))
                    failures.append(
                        f"`{command.text}` exited {result.exit_code}:\n"
                        f"{result.stderr[-3000:]}{trace[-3000:]}"
                    )
                    break  # the commands after it may need what it would have made
    finally:
        os.environ.clear()
        os.environ.update(environment)
    return folder, failures


@pytest.mark.slow
def test_the_tour_runs_in_order(tour):
    folder, failures = tour
    assert not failures, failures[0]
    for made in (
        "runs/tts_digits/model.keras",
        "runs/reviews/export/saved_model",
        "runs/entities/export/saved_model",
        "runs/phrases/export/saved_model",
        "predictions.csv",
        "exported/saved_model.pb",
    ):
        assert (folder / made).exists(), made


@pytest.mark.slow
def test_the_python_examples_run(tour):
    folder, _ = tour
    tiny = textwrap.dedent(
        """\
        import toolkit

        _run = toolkit.run


        def _tiny_run(recipe, overrides=(), *args, **kwargs):
            if isinstance(overrides, dict):
                overrides = {**overrides, "train.epochs": 1}
            else:
                overrides = [*overrides, "train.epochs=1"]
            return _run(recipe, overrides, *args, **kwargs)


        toolkit.run = _tiny_run
        """
    )
    assert (folder / "runs/reviews/model.keras").is_file(), "the tour made no runs/reviews"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", tiny + python_examples()],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (folder / "runs/digits/model.keras").is_file()
    assert (folder / "exported/saved_model.pb").is_file()
