"""Shared timing and reporting for the benchmarks: timeit-style repeats, a plain table.

A benchmark is timed as timeit does it: calibrate how many calls fill a short loop, then
repeat that loop many times (the libraries compared taking turns) and keep the best and the
median per-call time. The tables report the best: other processes on the machine only ever
add time, so the minimum is the steadiest estimate of what the code itself costs (as the
timeit docs advise); a median far above it means the machine was busy.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``repeat`` loops of ``number`` calls each."""

    median: float
    best: float
    number: int
    repeat: int


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def measure(
    fns: Sequence[Callable[[], object]],
    repeat: int = 30,
    loop_time: float = 0.02,
    clock: str = "cpu",
    collect: bool = False,
    warm_up: bool = True,
) -> list[Timing]:
    """Time each ``fn()`` per call: the best and median of ``repeat`` loops of ~``loop_time`` s.

    Many short loops rather than timeit's few 0.2 s ones, and the functions' loops take turns,
    so on a shared machine every function sees the same quiet and busy spells and a short loop
    has a fair chance to run undisturbed.

    The garbage collector is off inside each loop, as in timeit, unless ``collect``: then it
    runs as in a training loop, where the objects a graph allocates trigger collections. So
    that those collections do not also walk what this process holds for other reasons
    (imported modules, the other libraries' models), everything alive beforehand is frozen
    (``gc.freeze``) for the duration.

    Each ``fn`` is called once before timing (``warm_up``), so first-call imports, allocator
    and BLAS start-up do not count; callers that have just run them may skip it.

    ``clock="cpu"`` counts the CPU time of this process (all its threads), which other
    processes on the machine cannot inflate; ``"wall"`` is elapsed time, the right measure
    when the libraries run several threads each.
    """
    setup = "gc.enable()" if collect else "pass"  # timeit's own idiom; it disables gc first
    timers = [timeit.Timer(fn, setup, timer=CLOCKS[clock]) for fn in fns]
    if collect:
        gc.collect()
        gc.freeze()
    try:
        numbers = []
        for fn, timer in zip(fns, timers):
            if warm_up:
                fn()
            number = 1
            while timer.timeit(number) < loop_time:
                number *= 2
            numbers.append(number)
        per_call: list[list[float]] = [[] for _ in fns]
        for _ in range(repeat):
            for times, timer, number in zip(per_call, timers, numbers):
                times.append(timer.timeit(number) / number)
    finally:
        gc.unfreeze()
    return [
        Timing(statistics.median(times), min(times), number, repeat)
        for times, number in zip(per_call, numbers)
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], markdown: bool = False) -> str:
    """Rows as a fixed-width text table, or a markdown one; floats get 3 significant digits."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [[h.rjust(w) for h, w in zip(headers, widths)], ["-" * w for w in widths]]
    lines += [[c.rjust(w) for c, w in zip(row, widths)] for row in cells]
    if markdown:
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    return "\n".join("  ".join(line) for line in lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def set_threads(n: int, torch=None) -> str:
    """Give torch and numpy's BLAS the same number of threads; say what was done.

    One thread each by default: on a small shared machine, torch's OpenMP workers spin after
    each parallel region and slow the next numpy BLAS call, which made two-thread numbers
    swing several-fold between runs. numpy's BLAS is limited through threadpoolctl when it is
    installed; without it, numpy keeps OpenBLAS's default (set OPENBLAS_NUM_THREADS yourself).
    """
    said = "threads:"
    if torch is not None:
        torch.set_num_threads(n)
        said += f" torch {n},"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return f"{said} numpy BLAS default (threadpoolctl not installed)"
    threadpool_limits(limits=n, user_api="blas")
    return f"{said} numpy BLAS {n} (threadpoolctl)"


def environment(torch=None) -> str:
    """What the numbers depend on: versions, thread counts, the BLAS kernel numpy runs."""
    import platform

    import numpy as np

    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""),
        f"cpu: {_cpu_name()}, {os.cpu_count()} logical cores, load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "numpy BLAS: " + _blas_description(),
    ]
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            lines.append(f"{var}={os.environ[var]}")
    return "\n".join(lines)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def _blas_description() -> str:
    """The kernel OpenBLAS picked at run time (threadpoolctl), else numpy's build config."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _blas_from_config() + " (install threadpoolctl to see the run-time kernel)"
    import numpy  # noqa: F401 - load numpy's BLAS so threadpoolctl can see it

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return _blas_from_config()
    return "; ".join(
        f"{p['internal_api']} {p.get('version')} kernel {p.get('architecture')}, "
        f"{p['num_threads']} threads ({os.path.basename(p['filepath'])})"
        for p in pools
    )


def _blas_from_config() -> str:
    import numpy as np

    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except (TypeError, KeyError):  # numpy < 1.25 has no mode="dicts"
        return "unknown (see numpy.show_config())"
