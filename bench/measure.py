"""Whole-process wall time and peak RSS of a command, measured the same way for our CLI and for TensorFlow.

Each run is one child process: the clock starts just before the fork and stops when `os.wait4` reaps the
child, so interpreter start-up, imports, reading, writing and exit are all counted — what a user waits for.
Peak memory is the child's `ru_maxrss` from the same `wait4` call (Linux reports KiB; it includes the
file-backed pages the child had mapped, e.g. a memory-mapped `.data` shard, and any grandchildren it reaped).

Runs are sequential, never parallel (the machine is shared). One unmeasured warm-up run first puts the
input files in the page cache, so every measured run sees the same warm cache.

Usage: python bench/measure.py [-n 5] [--warmup 1] [--cwd DIR] -- COMMAND [ARGS...]
Prints one JSON object: {"cmd", "runs": [{"wall_s", "maxrss_kib", "returncode", "cpu_s"}],
"median_wall_s", "median_cpu_s", "median_maxrss_mib", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, peak resident set (KiB), exit status, CPU seconds (user + sys).

    CPU time is kept next to wall time because the machine is shared: other jobs stretch wall time,
    while CPU time shows the work the command itself did.
    """

    wall_s: float
    maxrss_kib: int
    returncode: int
    cpu_s: float = 0.0


@dataclass
class Measurement:
    """All measured runs of one command, plus the output of the last run for the caller to check."""

    cmd: list[str]
    runs: list[Run] = field(default_factory=list)
    last_stdout: str = ""
    last_stderr: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.returncode == 0 for r in self.runs)

    @property
    def median_wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def median_maxrss_mib(self) -> float:
        return statistics.median(r.maxrss_kib for r in self.runs) / 1024

    def summary(self) -> dict:
        """JSON-ready figures (medians, min/max and the individual runs)."""
        walls = [r.wall_s for r in self.runs]
        rss = [r.maxrss_kib / 1024 for r in self.runs]
        return {
            "cmd": self.cmd,
            "ok": self.ok,
            "n": len(self.runs),
            "median_wall_s": round(self.median_wall_s, 3),
            "min_wall_s": round(min(walls), 3),
            "max_wall_s": round(max(walls), 3),
            "median_cpu_s": round(statistics.median(r.cpu_s for r in self.runs), 3),
            "median_maxrss_mib": round(self.median_maxrss_mib, 1),
            "min_maxrss_mib": round(min(rss), 1),
            "max_maxrss_mib": round(max(rss), 1),
            "runs": [asdict(r) for r in self.runs],
        }


def run_once(
    cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> tuple[Run, str, str]:
    """Run `cmd` once as a child; return its figures and its stdout/stderr (kept in temp files, not pipes,
    so a chatty child never blocks and the parent does no work while the child runs)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(round(wall, 4), int(usage.ru_maxrss), proc.returncode, round(cpu, 4)), stdout, stderr


def measure(
    cmd: Sequence[str],
    n: int = 5,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stop_on_error: bool = True,
    before: Callable[[], object] | None = None,
) -> Measurement:
    """Median-ready measurement of `n` sequential runs after `warmup` unmeasured ones.

    `before`, when given, is called (unmeasured) before every run, e.g. to delete the previous output file.

    A failing warm-up (or first run) stops early when `stop_on_error`: there is no point timing a command
    that does not work; the caller sees `ok == False` and the stderr.
    """
    result = Measurement(list(cmd))
    for _ in range(warmup):
        if before is not None:
            before()
        run, result.last_stdout, result.last_stderr = run_once(cmd, env, cwd)
        if run.returncode != 0 and stop_on_error:
            result.runs.append(run)
            return result
    for _ in range(n):
        if before is not None:
            before()
        run, result.last_stdout, result.last_stderr = run_once(cmd, env, cwd)
        result.runs.append(run)
        if run.returncode != 0 and stop_on_error:
            break
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="measured runs (median reported); default 5")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first; default 1")
    parser.add_argument("--cwd", default=None, help="working directory of the child")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        parser.error("give the command after --")
    result = measure(cmd, n=args.n, warmup=args.warmup, cwd=args.cwd)
    print(json.dumps(result.summary(), indent=2))
    if not result.ok:
        sys.stderr.write(result.last_stderr[-4000:])
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
