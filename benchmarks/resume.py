"""Killed training resumes: a recipe trained without a break against the same command killed
with SIGKILL in the middle of an epoch and run again, for each seed.

    python benchmarks/resume.py --recipe recipes/keyword_spotting/fsdd.yaml \
        --set data.root=../shared/data/fsdd --set train.ensemble=1
    python benchmarks/resume.py --recipe recipes/sequence_tagging/conll2003.yaml \
        --set data.root=../shared/data/conll2003 --metric f1

Every run is `toolkit run RECIPE --output DIR` in its own process, as a user runs it, with
one log line an epoch. The killed run is stopped half an epoch (by the time its first epoch
took) after the line of epoch --kill-after; the same command then resumes it. Reported per
seed: where it was killed and where it resumed (from the resumed run's log), the test metric of
both runs and their difference, the time lost (killed + resumed wall time minus the
uninterrupted run's), and what saving the training state after every epoch costs (from the
uninterrupted run's log), with mean and spread over seeds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import results  # noqa: E402

SECTION = "resume"
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+): .*\((\d+) s\)$")
RESTORED = re.compile(r"training state restored: epoch (\d+) of (\d+)")
SAVED = re.compile(r"training state saved (\d+) times, ([\d.]+) s in all")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--output", default="runs/bench_resume")
    parser.add_argument("--seeds", default="1234,1235,1236")
    parser.add_argument(
        "--kill-after", type=int, default=2, help="Kill during the epoch after this one."
    )
    parser.add_argument("--metric", default="accuracy", help="Test metric in metrics.json.")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def command(args: argparse.Namespace, run_dir: Path, seed: int) -> list[str]:
    settings = [f"train.seed={seed}", "train.verbose=2", "export.enabled=false"]
    arguments = [sys.executable, "-c", "from toolkit.cli import main; main()", "run", args.recipe]
    arguments += ["--output", str(run_dir), "--device", args.device]
    for setting in [*args.overrides, *settings]:
        arguments += ["--set", setting]
    return arguments


def run_to_the_end(arguments: list[str]) -> float:
    """Wall seconds of a run that must finish."""
    started = time.monotonic()
    finished = subprocess.run(arguments, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"error: run failed:\n{finished.stderr[-2000:]}")
    return time.monotonic() - started


def run_and_kill(arguments: list[str], kill_after: int) -> tuple[float, int]:
    """Start the run, SIGKILL it half an epoch into epoch kill_after + 1 (an epoch's length
    taken as the time between the last two epoch lines); (wall seconds, the epoch killed in)."""
    if kill_after < 2:
        raise SystemExit("error: --kill-after must be 2 or more (an epoch's length is measured)")
    started = time.monotonic()
    process = subprocess.Popen(
        arguments, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    seen: dict[int, float] = {}
    for line in process.stderr:
        match = EPOCH_LINE.match(line.strip())
        if not match:
            continue
        epoch = int(match.group(1))
        seen[epoch] = time.monotonic()
        if epoch == kill_after:
            time.sleep((seen[epoch] - seen[epoch - 1]) / 2)
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    if process.returncode != -signal.SIGKILL:
        raise SystemExit(f"error: the run ended (status {process.returncode}) before the kill")
    return time.monotonic() - started, kill_after + 1


def logged(run_dir: Path, pattern: re.Pattern) -> re.Match:
    found = pattern.search((run_dir / "log.txt").read_text())
    if found is None:
        raise SystemExit(f"error: {run_dir}/log.txt: no line matching {pattern.pattern!r}")
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    output = Path(args.output)
    rows, figures = [], []
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        whole, broken = output / f"whole_{seed}", output / f"killed_{seed}"
        for folder in (whole, broken):
            shutil.rmtree(folder, ignore_errors=True)
        whole_seconds = run_to_the_end(command(args, whole, seed))
        killed_seconds, killed_in = run_and_kill(command(args, broken, seed), args.kill_after)
        resumed_seconds = run_to_the_end(command(args, broken, seed))
        resumed_at = int(logged(broken, RESTORED).group(1))
        saves, saving = logged(whole, SAVED).groups()
        scores = [
            float(json.loads((folder / "metrics.json").read_text())["test"][args.metric])
            for folder in (whole, broken)
        ]
        lost = killed_seconds + resumed_seconds - whole_seconds
        figures.append(
            {
                "difference": scores[1] - scores[0],
                "lost": lost,
                "saving": float(saving) / int(saves),
            }
        )
        rows.append(
            [
                seed,
                f"epoch {killed_in} (mid-way)",
                f"epoch {resumed_at}",
                f"{scores[0]:.4f}",
                f"{scores[1]:.4f}",
                f"{scores[1] - scores[0]:+.4f}",
                results.seconds(lost),
                f"{float(saving) / int(saves):.2f} s ({saves} saves)",
            ]
        )

    def summary(key: str, digits: int) -> str:
        values = [figure[key] for figure in figures]
        mean = statistics.fmean(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{mean:+.{digits}f} ± {spread:.{digits}f}"

    rows.append(
        [
            "mean ± sd",
            "",
            "",
            "",
            "",
            summary("difference", 4),
            summary("lost", 1) + " s",
            summary("saving", 2).lstrip("+") + " s",
        ]
    )
    results.report(
        f"{SECTION}_{Path(args.recipe).stem}",
        f"Killed training resumes: {Path(args.recipe).stem}",
        [
            "seed",
            "killed in",
            "resumed at",
            f"test {args.metric} (whole)",
            f"test {args.metric} (killed + resumed)",
            "difference",
            "time lost",
            "state saving an epoch",
        ],
        rows,
        [
            "Each row: the recipe run without a break, and the same command killed (SIGKILL) "
            f"half an epoch after epoch {args.kill_after} ended, then run again; both in their "
            "own processes, one seed.",
            "The resumed run restores weights, optimizer and schedule step, history and the "
            "best-checkpoint and early-stopping bookkeeping from the last epoch saved; its data "
            "order after the restart is not the uninterrupted run's, so the difference is of "
            "the size of the run-to-run spread, not zero.",
            "Time lost: killed + resumed wall time minus the uninterrupted run's (the part of "
            "the interrupted epoch that is trained again, and a second start-up).",
        ],
        not args.no_record,
    )


if __name__ == "__main__":
    main()
