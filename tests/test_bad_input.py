"""Bad data: one line naming the file, row or key, exit status 2, or a listed skip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit.cli import main


def run(recipe, tmp_path, *extra):
    return CliRunner().invoke(main, ["run", str(recipe), "--output", str(tmp_path / "run"), *extra])


def add_rows(manifest, rows):
    table = pd.read_csv(manifest)
    pd.concat([table, pd.DataFrame(rows)], ignore_index=True).to_csv(manifest, index=False)


def assert_one_line(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_audio_file_names_row_and_file(tiny_recipe, tmp_path):
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "nowhere.wav", "label": "1"}])
    assert_one_line(run(tiny_recipe, tmp_path), "train.csv row 13", "nowhere.wav", "not found")


def test_corrupt_file(tiny_recipe, tmp_path):
    (tiny_recipe.parent / "garbage.wav").write_bytes(b"this is not audio at all" * 10)
    add_rows(tiny_recipe.parent / "test.csv", [{"audio": "garbage.wav", "label": "1"}])
    assert_one_line(run(tiny_recipe, tmp_path), "test.csv row 7", "garbage.wav")


def test_empty_file(tiny_recipe, tmp_path):
    (tiny_recipe.parent / "empty.wav").write_bytes(b"")
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "empty.wav", "label": "1"}])
    assert_one_line(run(tiny_recipe, tmp_path), "train.csv row 13", "empty.wav")


def test_skip_option_lists_bad_rows(tiny_recipe, tmp_path):
    (tiny_recipe.parent / "garbage.wav").write_bytes(b"RIFF....WAVEfmt broken")
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "garbage.wav", "label": "1"}])
    result = run(tiny_recipe, tmp_path, "--set", "data.on_error=skip", "--epochs", "1")
    assert result.exit_code == 0, result.output
    skipped = pd.read_csv(tmp_path / "run" / "skipped.csv")
    assert list(skipped["source"]) == ["train.csv row 13"]


def test_label_unseen_in_training(tiny_recipe, tmp_path):
    table = pd.read_csv(tiny_recipe.parent / "test.csv")
    add_rows(tiny_recipe.parent / "test.csv", [{"audio": table["audio"][0], "label": "seven"}])
    assert_one_line(run(tiny_recipe, tmp_path), "test.csv row 7", "'seven' never seen in training")


def test_manifest_without_the_named_column(tiny_recipe, tmp_path):
    result = run(tiny_recipe, tmp_path, "--set", "data.columns.label=class")
    assert_one_line(result, "train.csv", "no column 'class'")


def test_unsupported_audio_extension(tiny_recipe, tmp_path):
    (tiny_recipe.parent / "song.mp3").write_bytes(b"ID3")
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "song.mp3", "label": "1"}])
    assert_one_line(run(tiny_recipe, tmp_path), "song.mp3")


def test_bad_feature_setting_fails_before_the_data_is_read(tiny_recipe, tmp_path):
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "nowhere.wav", "label": "1"}])
    result = run(tiny_recipe, tmp_path, "--set", "features.top_db=-5")
    # The bad value is reported, not the missing file the data check would have found next.
    assert_one_line(result, "features: top_db must be positive", str(tiny_recipe))


def test_bad_model_and_augment_settings_fail_before_the_data_is_read(tiny_recipe, tmp_path):
    add_rows(tiny_recipe.parent / "train.csv", [{"audio": "nowhere.wav", "label": "1"}])
    for setting, message in (
        ("model.filters=0", "model: filters must be a positive integer"),
        ("augment.frequency_warp=0.7", "augment: frequency_warp must be in [0, 0.5)"),
    ):
        result = run(tiny_recipe, tmp_path, "--set", setting)
        # The bad value is reported, not the missing file the data check would have found next.
        assert_one_line(result, message, str(tiny_recipe))


def test_speech_and_text_settings_are_checked_before_the_data_is_read():
    from toolkit.errors import ToolkitError
    from toolkit.recipes import load_recipe
    from toolkit.runner import build_task, check_settings

    for name, setting, message in (
        ("speech_recognition/tts_phrases", "augment.frequency_warp=0.7", "augment: frequency_warp"),
        ("text_classification/tiny_reviews", "model.embedding_dim=0", "model: embedding_dim"),
    ):
        recipe = load_recipe(name, [setting])
        with pytest.raises(ToolkitError, match=message):
            check_settings(recipe, build_task(recipe))
    # Vocabularies are not learnt yet: shipped recipes pass with the sizes before adaptation.
    for name, overrides in (
        ("speech_recognition/tts_phrases", []),
        ("text_classification/tiny_reviews", []),
        ("text_classification/tiny_reviews", ["features.type=subword", "model.type=text_cnn"]),
        ("sequence_tagging/tiny_entities", []),
    ):
        recipe = load_recipe(name, overrides)
        check_settings(recipe, build_task(recipe))


def test_yaml_errors_name_their_line(tmp_path):
    tabs = tmp_path / "tabs.yaml"
    tabs.write_text("task:\n\ttype: text_classification\n")
    assert_one_line(run(tabs, tmp_path), "tabs.yaml", "line 2, column 1", "'\\t'")
    brace = tmp_path / "brace.yaml"
    brace.write_text("task: {type: text_classification\n")
    assert_one_line(run(brace, tmp_path), "brace.yaml", "not valid YAML: line 2")


def test_lm_build_names_the_line_that_is_not_utf8(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_bytes(b"hello world\nthe \xff cat\n")
    result = CliRunner().invoke(main, ["lm", "build", str(text), "-o", str(tmp_path / "lm.arpa")])
    assert_one_line(result, "corpus.txt: line 2 is not UTF-8")


def test_an_output_under_a_regular_file_is_one_clear_line(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("hello world\n")
    (tmp_path / "file").write_text("")
    output = tmp_path / "file" / "lm.arpa"
    result = CliRunner().invoke(main, ["lm", "build", str(text), "-o", str(output)])
    assert_one_line(result, "file: a file stands where a folder is needed")


def test_an_unknown_preparer_option_is_named(tmp_path):
    result = CliRunner().invoke(
        main,
        ["data", "prepare", "fsdd", "--root", str(tmp_path), "--option", "nope=1"]
        + ["--output", str(tmp_path / "out")],
    )
    assert_one_line(result, "--option nope: not an option of fsdd", "test_speakers")


@pytest.mark.parametrize(
    ("value", "message"), [(np.nan, "NaN or infinite"), (1e30, r"reach 1e\+30")]
)
def test_float_wavs_with_impossible_samples_fail_the_header_check(tmp_path, value, message):
    import soundfile

    from toolkit.audio.io import audio_info, read_audio
    from toolkit.errors import DataError

    samples = np.zeros(1600, "float32")
    samples[100] = value
    path = tmp_path / "float.wav"
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    for check in (lambda: audio_info(path), lambda: read_audio(path, 16000)):
        with pytest.raises(DataError, match=message):
            check()
