"""Adapter: run the command as a child, forward signals to it, and wait for it.

Signals are blocked in the calling (main) thread before any other thread starts and taken with
``sigtimedwait``, so no signal can kill us between steps and leave the token directory behind, and we
know who sent each one. A signal the kernel generated for the terminal's foreground process group
(Ctrl-C, Ctrl-\\, hang-up) already reached the child when it shares our process group, so it is not
sent twice; a signal sent by a process (``kill``, a supervisor) is forwarded.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

FORWARDED_SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
)
_WAITED = frozenset((*FORWARDED_SIGNALS, signal.SIGCHLD))
# Dispositions Python changes at start-up (SIG_IGN) that a child must get back as default, like subprocess's
# restore_signals.
_RESET_IN_CHILD = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name))
POLL_SECONDS = 1.0  # belt and braces: re-check the child even without SIGCHLD


class SpawnError(OSError):
    """The command could not be started; ``exit_code`` is 127 (not found) or 126 (not executable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BlockedSignals:
    """Context manager: block the forwarded signals and SIGCHLD in this thread (and threads started later)."""

    def __enter__(self) -> Self:
        self._chld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # SIG_IGN would auto-reap the child
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
        return self

    def pending(self) -> signal.Signals | None:
        """A forwarded signal that arrived while blocked and before the child started (consumed)."""
        for sig in FORWARDED_SIGNALS:
            if sig in signal.sigpending():
                signal.sigtimedwait({sig}, 0)
                return sig
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        while signal.sigtimedwait({signal.SIGCHLD}, 0) is not None:  # drop our child's SIGCHLD
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
        signal.signal(signal.SIGCHLD, self._chld)


def spawn(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Start ``argv`` (searched on PATH) with ``env``, an empty signal mask and default dispositions."""
    try:
        return os.posix_spawnp(argv[0], list(argv), dict(env), setsigmask=(), setsigdef=_RESET_IN_CHILD)
    except FileNotFoundError:
        raise SpawnError(f"{argv[0]}: command not found", 127) from None
    except PermissionError:
        raise SpawnError(f"{argv[0]}: permission denied", 126) from None
    except OSError as exc:
        raise SpawnError(f"{argv[0]}: {exc.strerror or exc}", 126) from None


def _came_from_terminal(info: signal.struct_siginfo) -> bool:
    return info.si_code > 0  # SI_KERNEL; kill(2)/tgkill(2)/sigqueue(3) give SI_USER/SI_TKILL/SI_QUEUE (<= 0)


def _same_process_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == os.getpgrp()
    except ProcessLookupError:
        return False


def wait_forwarding(pid: int, on_forward: Callable[[signal.Signals], None] = lambda sig: None) -> int:
    """Wait for the child ``pid``, forwarding signals to it; returns its wait status. Call inside ``BlockedSignals``."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        info = signal.sigtimedwait(_WAITED, POLL_SECONDS)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        sig = signal.Signals(info.si_signo)
        if _came_from_terminal(info) and _same_process_group(pid):
            continue
        try:
            os.kill(pid, sig)
            on_forward(sig)
        except ProcessLookupError:
            pass  # exited meanwhile; waitpid reports it next


def exit_code(wait_status: int) -> int:
    """The child's exit code, or 128 + the signal that killed it (as a shell reports it)."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code
