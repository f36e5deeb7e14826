"""Web UI figures in real Chromium (prints numbers; asserts nothing).

0. first paint and time-to-DAG of run pages of 4, 200 and 10,000 steps, measured in the page
   (``first-contentful-paint`` and the moment the DAG script finished drawing, both from
   navigation start), first open and the median of later opens, with how many nodes were drawn;
1. a 1,000-step run page (every step drawn, then grouped): time from navigation until the DAG is
   drawn (``body[data-ready]``) and until a click on a step has loaded its panel ("usable"), on
   the first open (the server loads the run) and on later opens (the server reuses the loaded run
   until it changes);
2. the same for a 10,000-step run (repeated steps grouped, the default above 60 steps), and
   with grouping turned off;
3. live latency: from a node's status change written to the store to the node's colour changing
   on the open page (the server's event feed -> SSE -> in-place patch), median and 95th percentile.

Needs Chromium at /usr/bin/chromium (``apt-get install chromium``) and Playwright.
Usage: python bench/bench_ui.py [--runs 3] [--changes 40] [--only-paint]
Each run of the bench uses a fresh TASKMILL_HOME in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def noop() -> int:
    return 0


def inc(x: int) -> int:
    return x + 1


def gather(*values: int) -> int:
    return len(values)


def fan_run(n: int) -> str:
    """A real fan-out/fan-in run of ``n`` steps in all (in-process); returns its id."""
    from taskmill import PipelineController

    pipe = PipelineController(name=f"fan{n}", project="bench")
    pipe.add_function_step("root", noop, function_return="r")
    for i in range(n - 2):
        pipe.add_function_step(f"train_{i}", inc, function_kwargs={"x": "${root.r}"}, function_return="x")
    pipe.add_function_step("join", gather, parents=[f"train_{i}" for i in range(n - 2)], function_return="n")
    started = time.perf_counter()
    pipe.debug_pipeline(progress=False)
    print(f"   (ran the {n:,}-step pipeline in {time.perf_counter() - started:.1f} s)")
    return pipe.id


PAINT_JS = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const ready = parseFloat(document.body.dataset.readyMs || 'NaN');
  return [fcp ? fcp.startTime : NaN, isNaN(ready) ? performance.now() : ready];
}"""


def paint_figures(page: Any, url: str) -> tuple[float, float]:
    """(first contentful paint, DAG drawn) in ms since navigation start, from the page itself."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    fcp, ready = page.evaluate(PAINT_JS)
    return float(fcp), float(ready)


def bench_paint(page: Any, base: str, run_id: str, steps: int, runs: int) -> None:
    """Print first paint and time-to-DAG for one run page (first open, then the warm median)."""
    page.goto(f"{base}/pipelines")
    figures = [paint_figures(page, f"{base}/runs/{run_id}") for _ in range(max(runs, 2))]
    nodes = page.locator("g.node").count()
    cold, warm = figures[0], figures[1:]
    print(
        f"   {steps:>6,} steps ({nodes:>4} nodes drawn): first open: first paint {cold[0]:5.0f} ms, "
        f"DAG {cold[1]:5.0f} ms; again: first paint {statistics.median(f[0] for f in warm):5.0f} ms, "
        f"DAG {statistics.median(f[1] for f in warm):5.0f} ms"
    )


def open_run(page: Any, url: str) -> tuple[float, float]:
    """Seconds until the DAG is drawn, and until a click on the first step answered."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    drawn = time.perf_counter() - started
    page.locator('g.node[data-id="root"]').click()
    page.wait_for_selector("#step-panel .step-title")
    return drawn, time.perf_counter() - started


def bench_page(page: Any, base: str, run_id: str, label: str, runs: int, query: str = "") -> None:
    """Print the first (cold: the server loads the run) and the later (warm) page opens."""
    page.goto(f"{base}/pipelines")  # a warm connection, like someone arriving from the list
    figures = [open_run(page, f"{base}/runs/{run_id}{query}") for _ in range(runs)]
    nodes = page.locator("g.node").count()
    cold = figures[0]
    line = (
        f"   {label:<34} {nodes:>5} nodes: first open drawn {cold[0] * 1000:5.0f} ms, "
        f"usable {cold[1] * 1000:5.0f} ms"
    )
    if len(figures) > 1:
        warm = figures[1:]
        line += (
            f"; again (run cached): drawn {statistics.median(f[0] for f in warm) * 1000:5.0f} ms, "
            f"usable {statistics.median(f[1] for f in warm) * 1000:5.0f} ms"
        )
    print(line)


def bench_latency(page: Any, base: str, store: Any, run_id: str, changes: int) -> None:
    """Flip a node's status in the store and time until its colour changes on the page."""
    page.goto(f"{base}/runs/{run_id}")
    page.wait_for_selector("body[data-live='1']")
    page.evaluate(
        """() => {
          window.__seen = [];
          const g = document.querySelector('g.node[data-id="root"]');
          new MutationObserver(() => window.__seen.push([g.getAttribute('data-status'), Date.now()]))
            .observe(g, {attributes: true, attributeFilter: ['data-status']});
        }"""
    )
    node = dict(store.get_nodes(run_id))["root"]
    latencies = []
    for i in range(changes):
        status = "running" if i % 2 == 0 else "completed"
        before = len(page.evaluate("() => window.__seen"))
        written = time.time() * 1000
        store.put_nodes(run_id, [("root", {**node, "status": status})])
        page.wait_for_function(f"() => window.__seen.length > {before}")
        seen_status, seen_at = page.evaluate("() => window.__seen[window.__seen.length - 1]")
        assert seen_status == status
        latencies.append(seen_at - written)
        time.sleep(0.05)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    print(
        f"   store write -> node colour on the page: median {statistics.median(latencies):.0f} ms, "
        f"p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms ({changes} changes, 1,000-step run)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3, help="page opens per figure")
    ap.add_argument("--changes", type=int, default=40, help="status changes for the latency figure")
    ap.add_argument("--only-paint", action="store_true", help="only the first-paint figures (0.)")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit("needs Chromium at /usr/bin/chromium: apt-get install chromium")

    home = tempfile.mkdtemp(prefix="tm-bench-ui-")
    os.environ["TASKMILL_HOME"] = home
    os.environ.pop("TASKMILL_STORE", None)
    from playwright.sync_api import sync_playwright

    from taskmill.api.session import PROCESS
    from taskmill.server import ServerThread, create_app

    try:
        print("== building real runs")
        small, two_hundred = fan_run(4), fan_run(200)
        thousand = fan_run(1000) if not args.only_paint else ""
        ten_thousand = fan_run(10_000)
        session = PROCESS.session()
        with ServerThread(create_app(session.store, session.artifacts, auth=False)) as server:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                print("== 0. first paint and time-to-DAG")
                for steps, run_id in ((4, small), (200, two_hundred), (10_000, ten_thousand)):
                    bench_paint(page, server.url, run_id, steps, args.runs)
                if args.only_paint:
                    browser.close()
                    return
                print("== 1. run page, 1,000 steps")
                bench_page(page, server.url, thousand, "every step drawn", args.runs, "?group=0")
                bench_page(page, server.url, thousand, "repeated steps grouped (default)", args.runs)
                print("== 2. run page, 10,000 steps")
                bench_page(page, server.url, ten_thousand, "repeated steps grouped (default)", args.runs)
                bench_page(page, server.url, ten_thousand, "grouping off", 1, "?group=0")
                print("== 3. live updates")
                bench_latency(page, server.url, session.store, thousand, args.changes)
                browser.close()
    finally:
        PROCESS.reset()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
