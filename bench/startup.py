"""Code location load time: importing auterity_pipelines.definitions in a fresh interpreter,
against importing dagster alone (the floor), measured in the same run. Target: under 3 s.

    .venv/bin/python -m bench.startup [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def seconds_to_import(module: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    floor = statistics.median(seconds_to_import("dagster", runs))
    location = seconds_to_import("auterity_pipelines.definitions", runs)
    median = statistics.median(location)
    print(f"import dagster (floor)                    median {floor:.2f} s over {runs} runs")
    print(f"import auterity_pipelines.definitions     median {median:.2f} s, max {max(location):.2f} s, "
          f"{median / floor:.2f}× the floor")  # fmt: skip
    print(f"target: under 3 s — {'met' if max(location) < 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
