"""Shared by the examples: pick how to run a pipeline from the command line."""

from __future__ import annotations

import argparse
from typing import Any


def run(pipe: Any, argv: list[str] | None = None) -> None:
    """Run ``pipe`` in the mode given by ``--mode`` (default: process)."""
    parser = argparse.ArgumentParser(description="run this example pipeline")
    parser.add_argument(
        "--mode",
        choices=["process", "debug", "remote"],
        default="process",
        help="process: each step in its own process (start_locally(run_pipeline_steps_locally=True)); "
        "debug: steps as plain calls in this process (debug_pipeline()); "
        "remote: the run goes to the 'services' queue and steps to 'default', for agents (start())",
    )
    args, _ = parser.parse_known_args(argv)
    if args.mode == "debug":
        pipe.debug_pipeline()
    elif args.mode == "remote":
        pipe.set_default_execution_queue("default")
        pipe.start(queue="services")  # exits this process; an agent runs the pipeline
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
