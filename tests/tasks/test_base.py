"""Every registered task keeps the declared contract of `toolkit.tasks.base.Task`."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from toolkit import registry
from toolkit.export import FORMATS
from toolkit.predict import SAVED_MODEL_PREDICTORS
from toolkit.tasks.base import Task

TASKS = registry.names("task")
# Hooks whose first argument is the data they work on; every other argument is keyword-only.
POSITIONAL_DATA = {
    "check_splits": 1,
    "extend_training_data": 1,
    "summary": 1,
    "dataset": 1,
    "read_folder": 1,
    "read_file": 1,
    "class_weight": 1,
    "prepare_training": 1,
    "set_evaluation_decoder": 1,
    "export_inputs": 1,
}
HOOKS = [
    name
    for name, member in vars(Task).items()
    if inspect.isfunction(member) and not name.startswith("_") and name != "get_config"
]


@pytest.mark.parametrize("name", TASKS)
def test_task_declares_what_callers_read(name: str):
    task_class = registry.get("task", name)
    assert issubclass(task_class, Task)
    assert task_class.name == name
    assert task_class.input_kind in ("audio", "text")
    assert dataclasses.is_dataclass(task_class.augment_config)
    assert set(task_class.export_formats) <= set(FORMATS)
    assert name in SAVED_MODEL_PREDICTORS
    # Nothing left abstract: the task builds with its defaults.
    task = task_class()
    assert isinstance(task.get_config(), dict)
    assert isinstance(task.default_monitor, str)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("hook", HOOKS)
def test_overridden_hooks_keep_the_declared_keyword_only_signature(name: str, hook: str):
    declared = inspect.signature(getattr(Task, hook))
    implemented = inspect.signature(getattr(registry.get("task", name), hook))
    positional = POSITIONAL_DATA.get(hook, 0)
    for signature in (declared, implemented):
        parameters = list(signature.parameters.values())[1:]
        assert all(
            parameter.kind is inspect.Parameter.KEYWORD_ONLY
            for parameter in parameters[positional:]
        ), f"{name}.{hook}{signature}"
    assert list(implemented.parameters) == list(declared.parameters), (
        f"{name}.{hook}{implemented} differs from Task.{hook}{declared}"
    )
