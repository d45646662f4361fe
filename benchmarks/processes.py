"""Child processes of the benchmark: the emulator, and each contender with its own wall time,
CPU time and peak resident set size."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Every dlt process the benchmark starts keeps dltHub telemetry off.
CHILD_ENVIRONMENT = {"RUNTIME__DLTHUB_TELEMETRY": "false"}
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


class ChildFailed(RuntimeError):
    """A child process of the benchmark could not start or sent an unexpected response."""


@dataclass
class ChildResult:
    returncode: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str

    def last_json_line(self) -> dict[str, Any]:
        """Return the last stdout line that is a JSON object, the contenders' result line."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise ChildFailed(
            f"the child printed no JSON result (exit code {self.returncode}); "
            f"stderr ends with: {self.stderr[-2000:]}"
        )


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **CHILD_ENVIRONMENT, **(extra or {})}


def run_child(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout_seconds: float,
    output_dir: Path,
    name: str,
) -> ChildResult:
    """Run `argv` to completion and measure it.

    The peak RSS is the child's own maximum resident set size as wait4() reports it, so
    neither the benchmark nor an earlier child is counted. Output goes to files in
    `output_dir`, not pipes, so a chatty child cannot block. A child still running after
    `timeout_seconds` is killed with its process group and ChildFailed is raised.
    """
    stdout_path = output_dir / f"{name}.stdout"
    stderr_path = output_dir / f"{name}.stderr"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr, start_new_session=True
        )
        deadline = started + timeout_seconds
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                break
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL
                raise ChildFailed(
                    f"{name} did not finish within {timeout_seconds:.0f} s and was killed; "
                    f"see {stderr_path}"
                )
            time.sleep(0.02)
        wall = time.monotonic() - started
    # wait4() reaped the child, so Popen must not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(
        returncode=process.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
        stdout=stdout_path.read_text(encoding="utf-8", errors="replace"),
        stderr=stderr_path.read_text(encoding="utf-8", errors="replace"),
    )


class EmulatorProcess:
    """`benchmarks.emulator_process` in a child process, with the command protocol its
    docstring describes."""

    def __init__(
        self,
        *,
        projects: int,
        users: int,
        latency_seconds: float,
        seed: int,
        cwd: Path,
        log_path: Path,
        start_timeout_seconds: float = 300.0,
    ) -> None:
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        argv = [
            sys.executable,
            "-m",
            "benchmarks.emulator_process",
            "--projects",
            str(projects),
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_seconds * 1000),
        ]
        self.process = subprocess.Popen(
            argv,
            env=child_environment(),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        # A reader thread, because select() cannot see lines already buffered by readline().
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, name="emulator-stdout", daemon=True).start()
        try:
            self.base_url = self._read_line(start_timeout_seconds).strip()
            self.info: dict[str, Any] = json.loads(self._read_line(start_timeout_seconds))
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """Return the CPU time the emulator process has used so far (user plus system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the command name: utime and stime are fields 14 and 15 of proc(5).
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND

    def command(self, name: str, timeout_seconds: float = 60.0, **arguments: Any) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"command": name, **arguments}) + "\n")
        self.process.stdin.flush()
        response = json.loads(self._read_line(timeout_seconds))
        if not response.get("ok"):
            raise ChildFailed(f"the emulator rejected {name}: {response.get('error')}")
        return response

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self.log.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put("")  # end of output

    def _read_line(self, timeout_seconds: float) -> str:
        try:
            line = self._lines.get(timeout=timeout_seconds)
        except queue.Empty:
            line = ""
        if not line:
            raise ChildFailed(
                f"the emulator process sent no response within {timeout_seconds:.0f} s "
                f"(exit code {self.process.poll()}); see {self.log.name}"
            )
        return line
