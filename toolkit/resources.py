"""Where the shipped recipes and their default data are.

A source checkout (editable install, tests) uses its own `recipes/` and `assets/`, so edits show
at once. A built wheel carries copies of both under `toolkit/_bundled/` (setup.cfg maps that
package onto the checkout's root), side by side as in the checkout, so the relative data paths
written in the recipes (`../../assets/...`) resolve in either place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
CHECKOUT_DIR = PACKAGE_DIR.parent


def data_root() -> Path:
    """The folder that holds `recipes/` and `assets/`."""
    # setup.cfg marks a checkout; an installed package's parent is site-packages, where an
    # unrelated top-level `recipes` package may exist.
    if (CHECKOUT_DIR / "setup.cfg").is_file() and (CHECKOUT_DIR / "recipes").is_dir():
        return CHECKOUT_DIR
    return BUNDLED_DIR


def recipes_dir() -> Path:
    """The folder of shipped recipes, `<task>/<name>.yaml`."""
    return data_root() / "recipes"


def assets_dir() -> Path:
    """The folder of default data the shipped recipes train on."""
    return data_root() / "assets"
