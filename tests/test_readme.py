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


def test_the_study_walk_through_computes_the_similarity_the_report_needs():
    section = README.read_text().split("## A transfer study", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#")[0].split()[1] for line in block.splitlines() if line.startswith("tstransfer")]
    assert "similarity" in commands and commands.index("similarity") < commands.index("report")
