"""The child process the in-process sweep runs its points in: a crash of the C under test
(a segfault, an abort in the functional model loaded into the process) ends the child,
not the sweep.

    with Child() as child:
        rec = child.call(run_point_fn, point, model, only, timeout=3600)  # raises PointLost

One child serves every point, one at a time, for the whole sweep, so its imports and
in-memory caches are paid once, as they were in the sweep's own process; after it dies
the next call starts another, as it does after a call that ran past its ``timeout`` (the
child is killed: a point that hangs, an RTL that never finishes, cannot stall the sweep).
Calls and results travel pickled over two pipes of their
own (the child's stdout and stderr stay the terminal's, for what the C under test prints).

Not ProcessPoolExecutor or a multiprocessing context: those report a dead worker without
its exit status (the record says which signal ended the point: "worker died: signal 11
(SIGSEGV)"), and their spawned children re-run the caller's main module, so a script
calling run_sweep without an ``if __name__ == "__main__":`` guard would sweep again in
each child. ``python -m vendor_sdk.sweep.child`` imports only what the calls need, as
check-intrinsics runs its cases (vendor_sdk.check.execute).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

# Seconds a point may run before it is killed and recorded as timed out (in process and on
# Ray; `sweep --point-timeout`): generous, since a real RTL simulation of a large model can
# take many minutes. Here, in a module of the standard library only, for the CLI's --help.
POINT_TIMEOUT = 3600.0


class PointLost(Exception):
    """The point gave no result: its str() is why (the child's exception, or its death)."""


class WorkerDied(PointLost):
    pass


class PointRaised(PointLost):
    pass


class TimedOut(PointLost):
    """The call ran past its timeout and its child was killed (SIGKILL)."""


def seconds(timeout: float) -> str:
    """A timeout as the user gave it: 5, not 5.0; 0.5 stays 0.5."""
    return f"{timeout:g}"


def died(returncode: int | None) -> str:
    """Why a child ended, from its return code (-N: killed by signal N)."""
    if returncode is not None and returncode < 0:
        try:
            name = f" ({signal.Signals(-returncode).name})"
        except ValueError:
            name = ""
        return f"worker died: signal {-returncode}{name}"
    return f"worker died: exit code {returncode}"


def serve(calls: IO[bytes], results: IO[bytes]) -> None:
    """The child: take the parent's sys.path (the functions it sends are imported by
    name), then call each (fn, args) received and send back (True, result) or (False,
    "Type: message"): an exception object may not pickle, its text always does."""
    sys.path[:] = pickle.load(calls)
    while True:
        try:
            fn, args = pickle.load(calls)
        except EOFError:  # the sweep closed its end: done
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as e:
            reply = (False, f"{type(e).__name__}: {e}")
        pickle.dump(reply, results)
        results.flush()


class Child:
    """One child process, started on the first call and again after it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._calls: IO[bytes] | None = None
        self._results: IO[bytes] | None = None

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """``fn(*args)`` in the child (fn a module-level function, args picklable); raises
        PointRaised with the child's exception, WorkerDied when the child dies, TimedOut
        (the child killed) when no reply came within ``timeout`` seconds."""
        proc, calls, results = self._start()
        try:
            pickle.dump((fn, args), calls)
            calls.flush()
            # the child writes its one reply only when fn returns, and a dead child's pipe
            # reads as EOF: so nothing readable by the deadline means fn is still running
            if timeout is not None and not select.select([results], [], [], timeout)[0]:
                self._kill()
                raise TimedOut(f"timed out after {seconds(timeout)} s")
            ok, value = pickle.load(results)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):  # its pipes closed: gone
            self._forget()
            raise WorkerDied(died(proc.wait())) from None
        if not ok:
            raise PointRaised(value)
        return value

    def _start(self) -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]:
        if self._proc is None or self._calls is None or self._results is None:
            calls_r, calls_w = os.pipe()
            results_r, results_w = os.pipe()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "vendor_sdk.sweep.child", str(calls_r), str(results_w)],
                pass_fds=(calls_r, results_w))
            # the child's ends are the child's alone: its death then closes the pipes for us
            os.close(calls_r)
            os.close(results_w)
            self._calls, self._results = os.fdopen(calls_w, "wb"), os.fdopen(results_r, "rb")
            pickle.dump(sys.path, self._calls)
        return self._proc, self._calls, self._results

    def _kill(self) -> None:
        """SIGKILL, not a polite signal: the C under test may be spinning with signals
        blocked, or inside a call that never returns to Python."""
        proc = self._proc
        self._forget()
        if proc is not None:
            proc.kill()
            proc.wait()

    def _forget(self) -> None:
        for f in (self._calls, self._results):
            if f is not None:
                try:
                    f.close()
                except BrokenPipeError:  # buffered bytes for a child already gone
                    pass
        self._proc = self._calls = self._results = None

    def close(self, wait: float = 30.0) -> None:
        """End the child: it sees its calls pipe close and returns (killed after ``wait``
        seconds)."""
        proc = self._proc
        self._forget()
        if proc is not None:
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(30.0 if e is None else 0.0)  # Ctrl-C or a failing sweep: not a point more


if __name__ == "__main__":
    try:
        with os.fdopen(int(sys.argv[1]), "rb") as _calls, \
                os.fdopen(int(sys.argv[2]), "wb") as _results:
            serve(_calls, _results)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the sweep says so
        sys.exit(130)
