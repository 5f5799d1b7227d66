"""The `toolkit` command line. Each command parses options and calls library functions.

Nothing here imports TensorFlow at module level, so `toolkit --help` answers at once.
"""

from __future__ import annotations

import click

from toolkit import __version__
from toolkit.cli.data import data
from toolkit.cli.detect import detect
from toolkit.cli.finetune import finetune
from toolkit.cli.lm import lm
from toolkit.cli.models import models
from toolkit.cli.recipes import recipes
from toolkit.cli.run import evaluate, export, predict, run, train
from toolkit.cli.tune import tune


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="toolkit")
def main() -> None:
    """Train, evaluate and export speech and text recognition models from YAML recipes.

    Errors in your recipe or data are one line and exit status 2; set TOOLKIT_DEBUG=1 for
    the full traceback.
    """


for command in (
    run,
    train,
    tune,
    finetune,
    evaluate,
    predict,
    detect,
    export,
    recipes,
    models,
    data,
    lm,
):
    main.add_command(command)
