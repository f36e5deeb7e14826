"""Time a task venv build with pip and with uv on the same requirement set.

Each build does what :class:`taskmill.agent.venvs.VenvCache` does: ``python -m venv --without-pip``
plus the agent's ``pip --python VENV install -r``, or ``uv venv`` plus ``uv pip install --python``
with pip's index settings handed to uv (:func:`taskmill.agent.venvs.uv_options`). Rounds:

* pip, with pip's cache as the agent machine has it (pip's cache is never cleared here);
* uv cold: an empty uv cache (``UV_CACHE_DIR`` in a fresh folder);
* uv warm: the same cache again, a new venv.

Usage: ``.venv/bin/python bench/bench_venvs.py [--rounds N] [--requirements FILE]``. Blocking: a
minute or two. Prints one line per build and a summary.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from taskmill.agent.venvs import find_uv, pip_settings, uv_options

#: About 70 pure-Python distributions once resolved (a few dependencies have binary wheels).
REQUIREMENTS = """
arrow
attrs
babel
beautifulsoup4
bleach
boltons
cachetools
click
colorama
decorator
defusedxml
dill
diskcache
distlib
docutils
faker
filelock
gitpython
httpx
humanize
iniconfig
isodate
itsdangerous
jmespath
joblib
jsonpointer
jsonschema
markdown-it-py
marshmallow
more-itertools
mpmath
natsort
networkx
openpyxl
packaging
pathspec
platformdirs
pluggy
pygments
pytest
requests
rich
six
tabulate
toml
tomlkit
tqdm
wcwidth
websocket-client
"""


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def installed_count(python: Path) -> int:
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(len(list(m.distributions())))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def build_pip(venv: Path, requirements: Path) -> float:
    started = time.perf_counter()
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            "-r",
            str(requirements),
        ]
    )
    return time.perf_counter() - started


def build_uv(uv: str, venv: Path, requirements: Path, cache: Path) -> float:
    args, variables = uv_options(pip_settings())
    env = {**os.environ, **variables, "UV_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            *args,
            "-r",
            str(requirements),
        ],
        env,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="builds per installer (default 2)")
    parser.add_argument("--requirements", type=Path, help="a requirements file (default: the built-in set)")
    options = parser.parse_args()
    uv = find_uv()
    if uv is None:
        raise SystemExit("uv is not installed: pip install 'taskmill[agent]'")
    with tempfile.TemporaryDirectory(prefix="bench-venvs-") as folder:
        root = Path(folder)
        requirements = root / "requirements.txt"
        requirements.write_text(options.requirements.read_text() if options.requirements else REQUIREMENTS)
        lines = [line for line in requirements.read_text().splitlines() if line.strip()]
        handed = uv_options(pip_settings())[0]
        print(f"{len(lines)} requirement lines; uv {uv}; pip settings handed to uv: {handed}")
        times: dict[str, list[float]] = {"pip": [], "uv cold": [], "uv warm": []}
        count = 0
        for n in range(options.rounds):
            venv = root / f"pip-{n}"
            times["pip"].append(build_pip(venv, requirements))
            count = installed_count(venv / "bin" / "python")
            print(f"pip      round {n + 1}: {times['pip'][-1]:6.2f} s ({count} distributions)")
            cache = root / f"uv-cache-{n}"
            times["uv cold"].append(build_uv(uv, root / f"uv-cold-{n}", requirements, cache))
            print(f"uv cold  round {n + 1}: {times['uv cold'][-1]:6.2f} s")
            times["uv warm"].append(build_uv(uv, root / f"uv-warm-{n}", requirements, cache))
            print(f"uv warm  round {n + 1}: {times['uv warm'][-1]:6.2f} s")
        print(f"\nmedian of {options.rounds} builds, {count} distributions each:")
        for name, values in times.items():
            print(f"  {name:8} {statistics.median(values):6.2f} s")


if __name__ == "__main__":
    main()
