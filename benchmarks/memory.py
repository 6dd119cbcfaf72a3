"""Peak memory of one training step, measured the same way for every library.

Each (library, workload) runs in a fresh child process, so no library's imports, caches or
freed blocks count against another's. The child imports only its library, builds the model,
runs one warm-up step (one-time set-up such as kernel selection is not a per-step cost),
drops the gradients, and then records the resident set size (RSS) before a second step and
its high-water mark during it. Linux lets a process reset that mark (``/proc/self/clear_refs``),
so the reading covers that one step. The child's glibc returns every block of 64 KiB or more
to the system when freed (``MALLOC_MMAP_THRESHOLD_``), so RSS follows the live arrays rather
than what the allocator keeps cached. RSS sees torch's allocations too, which tracemalloc
does not.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from benchmarks._timing import set_threads
from benchmarks.libraries import load, runner

ROOT = Path(__file__).resolve().parent.parent
MMAP_THRESHOLD = str(64 * 1024)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def child(lib: str, work) -> None:
    """Run in the child: print the step's peak RSS above the RSS before it, in bytes."""
    mod = load(lib)
    set_threads(1, mod if lib == "torch" else None)
    model = runner(lib, mod, work)
    model.step()
    model.drop_grads()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the high-water mark (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    model.step()
    print((_status_kib("VmHWM") - before) * 1024)


def peak_step_bytes(libs: list, work_name: str) -> dict:
    """Peak step bytes per library, or why there is none; the children run side by side.

    Running them together only costs them time, and time is not what they measure.
    """
    if not Path("/proc/self/clear_refs").exists():
        return dict.fromkeys(libs, "n/a (needs Linux /proc)")
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=MMAP_THRESHOLD)
    children = {
        lib: subprocess.Popen(
            [sys.executable, "-m", "benchmarks.suite", "--memory-child", lib, work_name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lib in libs
    }
    peaks = {}
    for lib, process in children.items():
        out, err = process.communicate()
        if process.returncode:
            peaks[lib] = "n/a (" + (err.strip().splitlines() or ["failed"])[-1][:60] + ")"
        else:
            peaks[lib] = int(out.split()[-1])
    return peaks
