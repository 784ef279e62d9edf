"""Start-up time of the command line: `tstransfer --help` as a ratio to a bare `python -c pass`.

Usage: python benchmarks/cli_startup.py [--repeat 5]

"before" imports what the CLI imported up front until issue 14 (torch, pandas, scikit-learn through the
package's __init__ and the estimators) and then prints the help; "after" is today's entry point, which imports
heavy libraries only in the command that needs them. Timings are medians of `--repeat` runs, side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BEFORE = ("import tstransfer.data, tstransfer.estimators, tstransfer.keras_import, tstransfer.models, "
          "tstransfer.training, pandas; from tstransfer.cli import main; main(['--help'])")
AFTER = "from tstransfer.cli import main; main(['--help'])"
COMMANDS = {
    "python -c pass": "pass",
    "tstransfer --help (before: eager imports)": BEFORE,
    "tstransfer --help (now)": AFTER,
    "tstransfer grid --help (now)": "from tstransfer.cli import main; main(['grid', '--help'])",
}


def median_seconds(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {name: median_seconds(code, args.repeat) for name, code in COMMANDS.items()}
    bare = results["python -c pass"]
    print(f"{'command':<44}{'median s':>10}{'x bare python':>15}")
    for name, seconds in results.items():
        print(f"{name:<44}{seconds:>10.3f}{seconds / bare:>15.1f}")


if __name__ == "__main__":
    main()
