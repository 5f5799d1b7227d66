"""TensorFlow's start-up notices are filtered from descriptor 2 unless TOOLKIT_DEBUG is set."""

from __future__ import annotations

import os
import subprocess
import sys

from toolkit import quiet

ONEDNN = (
    "I0000 00:00:1796235782.941529    3948 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results.\n"
)
CUINIT = (
    "E0000 00:00:1796235787.828895    3948 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
REAL_ERROR = "E0000 00:00:1796235787.8 3948 kernel.cc:1] something the user must see\n"


def test_notices_are_dropped_and_other_lines_kept():
    assert not quiet.keep_line(ONEDNN, 2)
    assert not quiet.keep_line(BANNER, 2)
    assert not quiet.keep_line(CUINIT, 2)
    assert quiet.keep_line(REAL_ERROR, 2)
    assert quiet.keep_line("/some/module.py:3: UserWarning: a Python warning\n", 2)


def test_the_users_own_level_decides():
    for line in (ONEDNN, BANNER, CUINIT, REAL_ERROR):
        assert quiet.keep_line(line, 0)
    assert not quiet.keep_line(REAL_ERROR, 3)


def test_filtered_stderr_writes_back_what_it_keeps(capfd):
    with quiet.filtered_stderr(level=2):
        os.write(2, (BANNER + ONEDNN + "a line of the user's own\n" + CUINIT).encode())
    assert capfd.readouterr().err == "a line of the user's own\n"


# A look for TensorFlow first (as some libraries do to see what is installed) must not use up
# the quiet import.
IMPORT = (
    "import importlib.util, toolkit; importlib.util.find_spec('tensorflow'); "
    "import keras, tensorflow; print(tensorflow.__name__)"
)


def _import_tensorflow(**env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", "TOOLKIT_DEBUG")
    }
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert result.stdout.strip() == "tensorflow"
    return result.stderr


def test_importing_tensorflow_after_the_toolkit_is_silent():
    assert _import_tensorflow() == ""


def test_toolkit_debug_shows_the_notices():
    assert "oneDNN" in _import_tensorflow(TOOLKIT_DEBUG="1")


def test_importing_the_toolkit_does_not_import_tensorflow():
    code = "import sys, toolkit, toolkit.cli; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
