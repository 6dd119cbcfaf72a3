"""The benchmark suite: six workloads in tapegrad, numpy by hand, torch, MyGrad and HIPS autograd.

Every workload first checks that all implementations agree (the loss of two training steps
and every gradient of the first, against numpy's hand-written backward), then times them
interleaved on one thread and prints the best and median time and the ratios of medians to
torch and to numpy. The MLP and CNN steps also get their peak memory, each library in a
fresh process (see ``benchmarks/memory.py``). torch, MyGrad and autograd are optional.

Run from the repository root::

    python -m benchmarks.suite                 # everything, a few minutes
    python -m benchmarks.suite --quick         # fewer, shorter loops: under a minute
    python -m benchmarks.suite --only cnn --markdown
    python -m benchmarks.suite --profile rnn   # cProfile of tapegrad's step instead
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess

import numpy as np

from benchmarks import memory
from benchmarks._timing import CLOCKS, Timing, environment, measure, set_threads, table
from benchmarks.libraries import LIBRARIES, load, loss_value, runner, version
from benchmarks.workload import Workload
from benchmarks.workloads import WORKLOADS

# tapegrad/torch goals from issue #9 (for the chain: per op)
TARGETS = {"ops": 1.0, "mlp": 1.0, "cnn": 1.5, "rnn": 1.0, "chain": 1.0, "tiny_mlp": 1.0}
MEMORY_WORKLOADS = ("mlp", "cnn")


def not_available(error: Exception) -> str:
    return f"n/a: {type(error).__name__}: {str(error)[:60]}"


def build(work: Workload, mods: dict) -> dict:
    """A runner per library, or the reason it has none ("not installed", "n/a: ...")."""
    runners = {}
    for lib in LIBRARIES:
        if mods[lib] is None:
            runners[lib] = "not installed"
            continue
        try:
            runners[lib] = runner(lib, mods[lib], work)
        except Exception as error:  # a library without the op: report it, time the others
            runners[lib] = not_available(error)
    return runners


def check(work: Workload, runners: dict) -> list:
    """Losses and first-step gradients must match numpy's. Returns the rows of losses.

    With an SGD step, the loss of a second step checks the update too. A library that raises
    becomes "n/a" with the reason; one that computes something else stops the suite, since
    its timing would compare different work.
    """
    results = {}
    for lib, model in runners.items():
        if isinstance(model, str):
            continue
        try:
            losses = [loss_value(model.step())]
            grads = [np.array(g, np.float64) for g in model.grads()]
            if work.lr:
                losses.append(loss_value(model.step()))
            results[lib] = (losses, grads)
        except Exception as error:
            runners[lib] = not_available(error)
    ref_losses, ref_grads = results["numpy"]
    for lib, (losses, grads) in results.items():
        where = f"{work.name}, {lib} vs numpy"
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-4, err_msg=f"{where}: losses")
        for i, (grad, ref) in enumerate(zip(grads, ref_grads, strict=True)):
            atol = 1e-4 * np.abs(ref).max()
            np.testing.assert_allclose(grad, ref, rtol=1e-3, atol=atol, err_msg=f"{where}: {i}")
    return [[lib, *(f"{loss:.6f}" for loss in losses)] for lib, (losses, _) in results.items()]


def time_workload(work: Workload, runners: dict, args) -> dict:
    """Timings per library (per op when the workload says so), interleaved; or the reason."""
    timed = [lib for lib, model in runners.items() if not isinstance(model, str)]
    fns = [runners[lib].step for lib in timed]
    # no warm-up call: check() has just run every step
    timings = measure(fns, args.repeat, args.loop, args.clock, not args.no_gc, warm_up=False)
    per = work.ops or 1
    results = dict(runners)
    for lib, t in zip(timed, timings):
        results[lib] = Timing(t.median / per, t.best / per, t.number, t.repeat)
    return results


def ratio(results: dict, lib: str, ref: str) -> float | str:
    a, b = results.get(lib), results.get(ref)
    if isinstance(a, Timing) and isinstance(b, Timing):
        return a.median / b.median
    return "-"


def duration(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} us" if seconds < 1e-3 else f"{seconds * 1e3:.3g} ms"


def workload_table(work: Workload, results: dict) -> str:
    rows = []
    for lib, t in results.items():
        if isinstance(t, Timing):
            rows.append(
                [lib, duration(t.best), duration(t.median)]
                + [ratio(results, lib, "torch"), ratio(results, lib, "numpy")]
            )
        else:
            rows.append([lib, t, "", "", ""])
    per = "op" if work.ops else "call"
    return table(["library", f"best/{per}", f"median/{per}", "/torch", "/numpy"], rows)


def summary_table(all_results: dict, markdown: bool) -> str:
    rows = []
    for name, results in all_results.items():
        medians = [results[lib] for lib in ("tapegrad", "torch", "numpy")]
        rows.append(
            [name + (" (per op)" if WORKLOADS[name].ops else "")]
            + [duration(t.median) if isinstance(t, Timing) else "-" for t in medians]
            + [ratio(results, "tapegrad", "torch"), ratio(results, "tapegrad", "numpy")]
            + [ratio(results, "mygrad", "torch"), ratio(results, "autograd", "torch")]
            + [f"<= {TARGETS[name]}"]
        )
    headers = ["workload", "tapegrad", "torch", "numpy", "tg/torch", "tg/numpy"]
    headers += ["MyGrad/torch", "autograd/torch", "goal tg/torch"]
    return table(headers, rows, markdown)


def memory_table(peaks: dict, markdown: bool) -> str:
    rows = []
    for name, by_lib in peaks.items():
        cells = [f"{v / 2**20:.1f}" if isinstance(v, int) else v for v in by_lib.values()]
        tg, torch = by_lib["tapegrad"], by_lib["torch"]
        both = isinstance(tg, int) and isinstance(torch, int)
        rows.append([name, *cells, tg / torch if both else "-"])
    return table(["peak MiB per step", *LIBRARIES, "tg/torch"], rows, markdown)


def measure_memory(names: list, mods: dict) -> dict:
    """Peak step memory per workload and library, each in its own child process."""
    installed = [lib for lib in LIBRARIES if mods[lib] is not None]
    peaks = {}
    for name in names:
        measured = memory.peak_step_bytes(installed, name)
        peaks[name] = {lib: measured.get(lib, "not installed") for lib in LIBRARIES}
    return peaks


def header(mods: dict) -> str:
    """Date, machine and versions, for the README."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=memory.ROOT
    ).stdout.strip()
    others = ", ".join(
        f"{lib} {version(lib) if mods[lib] else 'not installed'}" for lib in ("mygrad", "autograd")
    )
    return "\n".join(
        [
            f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            f"tapegrad {version('tapegrad')} at commit {commit or 'unknown'}; {others}",
            environment(mods["torch"]),
        ]
    )


def profile(work: Workload, steps: int, top: int = 20) -> None:
    """cProfile tapegrad alone on one workload; print the costliest functions."""
    import cProfile
    import pstats

    model = runner("tapegrad", load("tapegrad"), work)
    model.step()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [model.step() for _ in range(steps)])
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short loops each: < 1 minute")
    parser.add_argument("--only", action="append", choices=list(WORKLOADS), help="repeatable")
    parser.add_argument("--repeat", type=int, help="timing loops per library (default 30)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="what to time")
    parser.add_argument("--no-gc", action="store_true", help="gc off while timing, as timeit")
    parser.add_argument("--markdown", action="store_true", help="summary tables in markdown")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak memory runs")
    parser.add_argument("--profile", choices=list(WORKLOADS), help="cProfile tapegrad only")
    parser.add_argument("--memory-child", nargs=2, metavar=("LIB", "WORKLOAD"), help="internal")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (3 if args.quick else 30)
    args.loop = 0.005 if args.quick else 0.02  # seconds per timing loop
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        lib, name = args.memory_child
        memory.child(lib, WORKLOADS[name])
        return
    if args.profile:
        set_threads(1)
        profile(WORKLOADS[args.profile], steps=5 if args.profile == "chain" else 200)
        return
    mods = {lib: load(lib) for lib in LIBRARIES}
    threads = set_threads(1, mods["torch"])
    gc_state = "off" if args.no_gc else "on (heap frozen before timing)"
    about = "\n".join(
        [
            header(mods),
            threads,
            f"{args.clock} time, {args.repeat} interleaved loops of ~{args.loop * 1e3:.0f} ms each",
            f"garbage collector while timing: {gc_state}",
        ]
    )
    print(about)
    names = args.only or list(WORKLOADS)
    all_results = {}
    for name in names:
        work = WORKLOADS[name]
        print(f"\n== {name}: {work.title}")
        runners = build(work, mods)
        losses = ["loss, step 1", "loss, step 2"] if work.lr else ["loss"]
        print(table(["library", *losses], check(work, runners)))
        print()
        all_results[name] = time_workload(work, runners, args)
        print(workload_table(work, all_results[name]), flush=True)
    memory_names = [n for n in names if n in MEMORY_WORKLOADS and not args.no_memory]
    peaks = measure_memory(memory_names, mods)
    if args.markdown:
        print("\n== for benchmarks/README.md\n\n```text\n" + about + "\n```\n")
    else:
        print("\n== summary: medians and their ratios (below 1: the first library is faster)")
    print(summary_table(all_results, args.markdown))
    if peaks:
        print("\nPeak memory of one step, MiB above the memory before it (fresh process each):\n")
        print(memory_table(peaks, args.markdown))
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
