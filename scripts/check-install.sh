#!/usr/bin/env bash
# The README's "Install" section followed in a fresh clone and a new virtual environment, then
# `tstransfer --version` and the tutorial's first three commands; then the README's wheel: built with
# `python -m build` and installed in another new virtual environment, where `tstransfer --version` and a
# command reading the packaged mini archive and zoo run. Two substitutions, said here: the torch line installs
# torch==2.13.0 from the configured package index (this project's machines hold its CPU wheel and cannot
# reach download.pytorch.org), and the tutorial's `--epochs 2000` runs as `--epochs 3`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/tstransfer"
cd "$work/tstransfer"
install="$(sed -n '/<!-- install:begin -->/,/<!-- install:end -->/p' README.md | sed '/^<!--/d;/^```/d' |
           sed 's|^pip install .*torch==2.13.0 .*|pip install --quiet torch==2.13.0|; s|^pip install \.|pip install --quiet .|')"
tutorial="$(sed -n '/^## Tutorial: train/,/^```$/p' README.md | grep '^tstransfer ' | head -3 |
            sed 's/--epochs 2000/--epochs 3/; s/ *#.*$//')"
echo "$install"; echo "$tutorial"
bash -euo pipefail -c "$install
$tutorial"
wheel="$(sed -n '/<!-- wheel:begin -->/,/<!-- wheel:end -->/p' README.md | sed '/^<!--/d;/^```/d;s/ *#.*$//')"
echo "$wheel"
python3 -m venv "$work/wheel-env"
bash -euo pipefail -c ". '$work/wheel-env/bin/activate' && pip install --quiet torch==2.13.0 && pip install --quiet build
$(echo "$wheel" | sed 's/^pip install build && //; s/^pip install /pip install --quiet /')
cd / && tstransfer --version && tstransfer datasets | tail -n 1 && tstransfer zoo list | tail -n 1"
echo "install check: passed"
