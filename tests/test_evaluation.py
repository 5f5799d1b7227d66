"""Learning curves mark the kept epoch and show a run of one epoch."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from toolkit.evaluation import plot_learning_curves  # noqa: E402


def _plot(tmp_path, monkeypatch, text: str, **settings) -> Figure:
    drawn = []
    original = Figure.savefig

    def keep(figure, *args, **kwargs):
        drawn.append(figure)
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    history = tmp_path / "history.csv"
    history.write_text(text)
    assert plot_learning_curves(history, tmp_path / "plots" / "curves.png", **settings)
    assert (tmp_path / "plots" / "curves.png").stat().st_size > 0
    return drawn[0]


def _kept_lines(axis) -> list[float]:
    return [line.get_xdata()[0] for line in axis.lines if line.get_label().startswith("kept")]


def test_one_epoch_is_drawn_with_markers(tmp_path, monkeypatch):
    figure = _plot(tmp_path, monkeypatch, "epoch,loss,val_loss\n0,1.5,1.2\n", monitor="val_loss")
    axis = figure.axes[0]
    curves = [line for line in axis.lines if not line.get_label().startswith("kept")]
    assert curves and all(line.get_marker() == "o" for line in curves)
    assert _kept_lines(axis) == [1]


def test_the_kept_epoch_is_marked_on_every_panel(tmp_path, monkeypatch):
    text = "epoch,accuracy,loss,val_accuracy,val_loss\n0,.5,1,.6,1\n1,.7,.8,.9,.7\n2,.8,.6,.8,.8\n"
    best = _plot(tmp_path, monkeypatch, text, monitor="val_accuracy")
    assert [_kept_lines(axis) for axis in best.axes] == [[2], [2]]
    assert "kept: epoch 2 (val_accuracy 0.9000)" in [
        text.get_text() for text in best.axes[0].get_legend().get_texts()
    ]
    last = _plot(tmp_path, monkeypatch, text, monitor="val_accuracy", select="last")
    assert _kept_lines(last.axes[0]) == [3]


def test_an_ensemble_marks_each_member(tmp_path, monkeypatch):
    text = "epoch,loss,val_loss,member\n0,1,1,1\n1,.5,.4,1\n0,1,.3,2\n1,.5,.6,2\n"
    figure = _plot(tmp_path, monkeypatch, text, monitor="val_loss")
    assert sorted(_kept_lines(figure.axes[0])) == [1, 2]


def test_without_a_monitor_nothing_is_marked(tmp_path, monkeypatch):
    figure = _plot(tmp_path, monkeypatch, "epoch,loss\n0,1\n1,.5\n")
    assert _kept_lines(figure.axes[0]) == []
