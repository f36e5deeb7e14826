"""Artifact figures for a big numpy array stored locally (prints numbers; asserts nothing).

* write: ``ArtifactStore.upload`` of an N MiB float64 array (``np.save`` to a temporary file,
  fsync, streaming sha256, atomic rename), and the share of it spent hashing;
* read back: ``ArtifactStore.load`` (memory-mapped, no copy; target under 10 ms for 1 GiB), first
  call and median of repeats, plus the time to actually touch every byte for comparison.

Usage: python bench/bench_artifacts.py [--size-mib N]   (default 1024; needs about N MiB of disk)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from taskmill.artifacts import ArtifactStore, sha256_file

TASK = "b" * 32


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=1024, help="array size in MiB (default 1024)")
    parser.add_argument("--repeats", type=int, default=20, help="load repetitions for the median")
    args = parser.parse_args()

    count = args.size_mib * (1 << 20) // 8
    array = np.arange(count, dtype=np.float64)  # every page really allocated, unlike np.empty
    with tempfile.TemporaryDirectory(prefix="taskmill-bench-") as root:
        store = ArtifactStore(f"{root}/store", f"{root}/cache")

        start = time.perf_counter()
        record = store.upload(TASK, "big", array)
        write = time.perf_counter() - start
        start = time.perf_counter()
        sha256_file(record.uri)
        hashing = time.perf_counter() - start
        del array  # from here on only the stored file is in play

        start = time.perf_counter()
        loaded = store.load(record)
        first_load = time.perf_counter() - start
        assert isinstance(loaded, np.memmap) and loaded.shape == (count,)
        del loaded

        timings = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            loaded = store.load(record)
            timings.append(time.perf_counter() - start)
            del loaded

        loaded = store.load(record)
        start = time.perf_counter()
        total = float(loaded.sum())  # touches every page of the mapping
        touch = time.perf_counter() - start
        del loaded

    size = args.size_mib
    median = statistics.median(timings)
    rows = [
        (
            "write (upload: np.save + fsync + sha256 + rename)",
            f"{write * 1000:9.1f} ms",
            f"{size / write:,.0f} MiB/s",
        ),
        ("  of which sha256 streaming (page cache warm)", f"{hashing * 1000:9.1f} ms", ""),
        ("read back (load, memory-mapped), first call", f"{first_load * 1000:9.3f} ms", ""),
        (f"read back (load, memory-mapped), median of {args.repeats}", f"{median * 1000:9.3f} ms", ""),
        ("touching every value once (sum over the map)", f"{touch * 1000:9.1f} ms", f"sum={total:.3e}"),
    ]
    print(f"artifact: {size} MiB float64 array ({count:,} values), local store, format npy")
    for label, value, note in rows:
        print(f"{label:<52}{value}  {note}".rstrip())


if __name__ == "__main__":
    main()
