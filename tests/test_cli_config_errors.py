"""A configuration that cannot be used stops the `mediamon` command with one clear line and exit code 2."""

from __future__ import annotations

import shutil
import sys

import pytest

from mediamon.cli import entry_point
from mediamon.core.settings import Settings, get_settings


@pytest.fixture
def command(monkeypatch, capsys):
    def invoke(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["mediamon", *args])
        get_settings.cache_clear()
        try:
            with pytest.raises(SystemExit) as stopped:
                entry_point()
        finally:
            get_settings.cache_clear()
        return stopped.value.code, capsys.readouterr().err

    return invoke


def test_a_broken_seeds_file_is_named_not_a_traceback(command, monkeypatch, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(Settings().seeds_dir, seeds)
    (seeds / "timeline.yaml").write_text("landmarks:\n  - id: x\n    date: someday\n", encoding="utf-8")
    text = tmp_path / "t.txt"
    text.write_text("Lukashenko\nthe war in Ukraine", encoding="utf-8")
    monkeypatch.setenv("MEDIAMON_SEEDS_DIR", str(seeds))
    code, err = command("tag", "--text-file", str(text))
    assert code == 2
    assert "configuration error" in err and "timeline.yaml" in err and "Traceback" not in err


def test_a_bad_setting_is_named_not_a_traceback(command, monkeypatch):
    monkeypatch.setenv("MEDIAMON_EMBED_BATCH_SIZE", "many")
    code, err = command("seeds", "list")
    assert code == 2
    assert "configuration error: MEDIAMON_EMBED_BATCH_SIZE: " in err and "Traceback" not in err
