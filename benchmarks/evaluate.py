"""How fast the program evaluates under Pulumi's mocks as the fleet grows.

    uv run python benchmarks/evaluate.py [--sizes 1,10,100,1000] [--repeat 3]

Prints, for each fleet size, the resources registered, the best wall time of
`--repeat` runs of the real program (staging stack, fleetCount overridden), and
resources per second. This is the cost `pulumi preview` pays in the Python
program itself (the engine and providers add their own).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offline.harness import run_program


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run_program("staging")  # warm imports
    print(f"{'droplets':>8} {'resources':>9} {'best s':>8} {'resources/s':>11}")
    for size in (int(s) for s in args.sizes.split(",")):
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run = run_program("staging", config_overrides={"fleetCount": size})
            timings.append(time.perf_counter() - start)
        count = len(run.resources)
        best = min(timings)
        print(f"{size:>8} {count:>9} {best:>8.3f} {count / best:>11.0f}")


if __name__ == "__main__":
    main()
