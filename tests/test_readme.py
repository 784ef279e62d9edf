"""The README's Python tutorial runs as written (with 2 epochs instead of 2000)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_tutorial_snippet_is_true(tmp_path, monkeypatch):
    section = README.read_text().split("## Tutorial: train, evaluate, load, predict", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "model.predict(raw) == labels" in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("epochs=2000", "epochs=2"), "README.md", "exec"), {})
    assert (tmp_path / "GunPoint.safetensors").is_file()
