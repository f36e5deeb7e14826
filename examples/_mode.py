"""Shared by the examples: pick how to run a pipeline from the command line."""

from __future__ import annotations

import argparse
from typing import Any


def run(pipe: Any, argv: list[str] | None = None) -> None:
    """Run ``pipe`` in the mode given by ``--mode`` (default: process)."""
    parser = argparse.ArgumentParser(description="run this example pipeline")
    parser.add_argument(
        "--mode",
        choices=["process", "debug"],
        default="process",
        help="process: each step in its own process (start_locally(run_pipeline_steps_locally=True)); "
        "debug: steps as plain calls in this process (debug_pipeline())",
    )
    args, _ = parser.parse_known_args(argv)
    if args.mode == "debug":
        pipe.debug_pipeline()
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
