"""Where recipes and default data are found: the checkout here, toolkit/_bundled in a wheel.

Installing the built wheel and training from it is checked by .ci/run, not here.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit import resources
from toolkit.cli import main
from toolkit.errors import RecipeError
from toolkit.recipes import find_recipe, list_recipes, load_recipe

REPO = Path(__file__).resolve().parent.parent


def setup_options() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return config


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_a_checkout_uses_its_own_folders() -> None:
    if resources.CHECKOUT_DIR != REPO:
        pytest.skip("toolkit is imported from an installed wheel, not from this checkout")
    assert resources.data_root() == REPO
    assert resources.recipes_dir() == REPO / "recipes"
    assert resources.assets_dir() == REPO / "assets"


def test_an_installed_package_uses_its_bundled_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # site-packages: no setup.cfg beside the package, perhaps someone else's `recipes`.
    (tmp_path / "recipes").mkdir()
    monkeypatch.setattr(resources, "CHECKOUT_DIR", tmp_path)
    assert resources.data_root() == resources.BUNDLED_DIR
    assert resources.recipes_dir() == resources.BUNDLED_DIR / "recipes"


def test_every_listed_recipe_loads_by_name() -> None:
    names = list_recipes()
    on_disk = sorted(REPO.glob("recipes/*/*.yaml"))
    assert len(names) == len(on_disk) and "keyword_spotting/tts_digits" in names
    for name in names:
        assert load_recipe(name).source == str(resources.recipes_dir() / f"{name}.yaml")
        assert find_recipe(f"{name}.yaml") == find_recipe(name)


def test_default_data_paths_resolve_into_the_assets() -> None:
    """The recipes that train on shipped data find it through their relative paths."""
    used = set()
    for name in list_recipes():
        data = load_recipe(name).data
        for split, given in (("train", data.train), ("valid", data.valid), ("test", data.test)):
            path = Path(given) if given else None
            if path is not None and path.is_relative_to(resources.assets_dir()):
                assert path.is_file(), f"{name}: data.{split} {path}"
                used.add(path.relative_to(resources.assets_dir()).parts[0])
    assert used == {"tts_digits", "tts_phrases", "text_reviews", "text_entities"}


def test_the_wheel_carries_every_package_recipe_and_data_folder() -> None:
    options = setup_options()
    packages = set(lines(options["options"]["packages"]))
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in REPO.glob("toolkit/**/__init__.py")
    }
    assert packages == found | {"toolkit._bundled"}, "list new subpackages in setup.cfg"
    patterns = lines(options["options.package_data"]["toolkit._bundled"])
    assert "recipes/**/*.yaml" in patterns
    for folder in ("tts_digits", "tts_phrases", "text_reviews", "text_entities"):
        assert f"assets/{folder}/**/*" in patterns


def test_an_unknown_name_lists_the_close_matches() -> None:
    with pytest.raises(RecipeError, match=r"did you mean keyword_spotting/tts_digits\?\)$"):
        find_recipe("keyword_spotting/tts_digit")
    with pytest.raises(RecipeError, match=r"did you mean keyword_spotting/tts_digits\?\)$"):
        find_recipe("tts_digit")
    with pytest.raises(RecipeError) as caught:
        load_recipe("own_data")
    assert caught.value.args[0].count("/own_data") == 4


def test_a_name_like_nothing_lists_every_recipe() -> None:
    with pytest.raises(RecipeError, match="recipe file not found") as caught:
        find_recipe("zzz")
    message = str(caught.value)
    assert "\n" not in message
    assert all(name in message for name in list_recipes())


def test_the_command_line_answers_an_unknown_name_in_one_line() -> None:
    result = CliRunner().invoke(main, ["run", "keyword_spotting/tts_digit"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: keyword_spotting/tts_digit: recipe file not found and no shipped recipe has that "
        "name (did you mean keyword_spotting/tts_digits?)"
    ]
