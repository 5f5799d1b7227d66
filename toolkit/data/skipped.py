"""RUN_DIR/skipped.csv: every row a run left out, with the reason, so nothing is dropped silently."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit import atomic


def write_skipped(skipped: list[dict], run_dir: Path) -> Path | None:
    """List skipped rows in RUN_DIR/skipped.csv (added to rows listed earlier in the run)
    so nothing is dropped silently."""
    if not skipped:
        return None
    path = Path(run_dir) / "skipped.csv"
    table = pd.DataFrame(skipped)
    if path.is_file():
        table = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False), table])
    atomic.write_csv(table, path)
    return path
