"""ClearML's ``make_deterministic``: one seed for Python's, NumPy's, PyTorch's and TensorFlow's
random generators.

Only libraries the program already imported are seeded (none is imported here), so calling it
early, before importing them, seeds only Python's ``random``: call it after your imports.
"""

from __future__ import annotations

import random
import sys
from typing import Any


def _call(module: Any, *path_and_args: Any) -> None:
    *path, arg = path_and_args
    target = module
    try:
        for part in path:
            target = getattr(target, part)
        target(arg)
    except Exception:  # a library without that API (old versions, CPU-only builds): nothing to seed
        return


def make_deterministic(seed: int = 1337, cudnn_deterministic: bool = False) -> None:
    """Seed every imported generator with ``seed`` (masked to 32 bits). With
    ``cudnn_deterministic`` also make PyTorch's cuDNN pick deterministic algorithms (slower)."""
    seed = int(seed) & 0xFFFFFFFF
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        _call(numpy, "random", "seed", seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        _call(torch, "manual_seed", seed)
        _call(torch, "cuda", "manual_seed_all", seed)
        if cudnn_deterministic:
            try:
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            except AttributeError:
                pass
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        _call(tensorflow, "random", "set_seed", seed)
