"""Spawning the command: exit codes as a shell reports them, spawn failures, the child's signal state.
(Forwarding of signals sent to `irsa exec` is tested end to end in test_podrunner_exec.py.)"""

from __future__ import annotations

import os
import signal
import sys

from irsa.podrunner import process


def _run(argv, env=None) -> int:
    with process.BlockedSignals():
        pid = process.spawn(argv, env or dict(os.environ))
        return process.exit_code(process.wait_forwarding(pid))


def test_exit_codes():
    assert _run(["sh", "-c", "exit 3"]) == 3
    assert _run(["true"]) == 0
    assert _run(["sh", "-c", "kill -TERM $$"]) == 128 + signal.SIGTERM
    assert _run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]) == 128 + 9


def test_spawn_failures(tmp_path):
    for argv, code in ((["no-such-command-irsa"], 127), ([str(tmp_path / "missing")], 127)):
        try:
            _run(argv)
        except process.SpawnError as exc:
            assert exc.exit_code == code and argv[0] in str(exc)
        else:
            raise AssertionError("spawned a missing command")
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    try:
        _run([str(script)])
    except process.SpawnError as exc:
        assert exc.exit_code == 126
    else:
        raise AssertionError("ran a file without the execute bit")


def test_child_has_no_blocked_or_python_ignored_signals(tmp_path):
    out = tmp_path / "status"
    env = dict(os.environ, OUT=str(out))
    assert _run(["sh", "-c", 'grep -E "^(SigBlk|SigIgn):" /proc/self/status > "$OUT"'], env) == 0
    fields = dict(line.split(":\t") for line in out.read_text().splitlines())
    assert int(fields["SigBlk"], 16) == 0
    assert not int(fields["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1))  # Python ignores SIGPIPE; a pod's process does not
    # and our own mask is back as it was
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
