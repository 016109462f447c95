"""Start `genlab serve` as a separate process on a free loopback port and wait until it answers:
what the tests, the benchmarks and the screenshot script use to talk to a real server.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import torch

from genlab.diffusion import NoiseSchedule
from genlab.io import save_checkpoint
from genlab.models import create_model
from genlab.pipelines.text2image import Text2ImagePipeline
from genlab.text import TextEncoder, TextEncoderConfig
from genlab.text.encoder import TEXT_ENCODERS


class LocalServer:
    """`with LocalServer(home, models={"tiny": path}) as srv: httpx.get(srv.url + "/api/health")`.

    `home` becomes GENLAB_HOME of the server (its history and images); `extra_args` go to
    `genlab serve`. `kill()` stops it hard (SIGKILL), as a crash or power cut would.
    """

    def __init__(
        self,
        home: str | Path,
        models: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        token: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        wrapper: list[str] | None = None,
    ):
        self.home = Path(home)
        self.models = models or {}
        self.extra_args = extra_args or []
        self.token = token
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.wrapper = wrapper or []  # a command the server runs under, e.g. setpriv ... --
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log_path = self.home / "server.log"

    def start(self) -> LocalServer:
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [
            *self.wrapper,
            sys.executable,
            "-m",
            "genlab",
            "serve",
            "--port",
            "0",
            "--no-bundled",
        ]
        for name, path in self.models.items():
            cmd += ["--model", f"{name}={path}"]
        if self.token:
            cmd += ["--token", self.token]
        cmd += self.extra_args
        env = dict(os.environ, GENLAB_HOME=str(self.home), PYTHONUNBUFFERED="1", **self.env)
        env.setdefault("OMP_NUM_THREADS", "1")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, env=env)
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while time.monotonic() < deadline:
            # Wait for output with a timeout, so that a silent, hung server cannot block us.
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            match = re.search(rb"serving on (http://\S+?)/?\s*$", line)
            if match:
                self.url = match.group(1).decode().rstrip("/")
                break
        if not self.url:
            self.stop()
            raise RuntimeError(f"genlab serve did not start; log: {self.log_text()[-2000:]}")
        # Keep reading the server's stdout so that a full pipe can never block it.
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_healthy(deadline)
        return self

    def _drain(self) -> None:
        try:
            for line in self.proc.stdout:
                if self._log:
                    self._log.write(line)
                    self._log.flush()  # so that log_text() sees it at once
        except (ValueError, OSError):  # closed by stop()
            pass

    def _wait_healthy(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(self.url + "/api/health", headers=headers, timeout=2).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"genlab serve never became healthy; log: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        log, self._log = getattr(self, "_log", None), None
        if log:
            log.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def tiny_text2image_checkpoint(path: str | Path, seed: int = 0) -> Path:
    """A tiny, untrained text-to-image checkpoint (U-Net "unet-tiny", encoder "text-tiny"),
    saved with the pipeline's own checkpoint format: enough to exercise a server in seconds."""
    torch.manual_seed(seed)
    pipe = Text2ImagePipeline(
        create_model("unet-tiny"),
        TextEncoder(TextEncoderConfig(**TEXT_ENCODERS["text-tiny"])),
        NoiseSchedule.create("linear"),
        "epsilon",
        name=Path(path).stem,
        image_size=32,
    )
    tensors, config = pipe.checkpoint()
    return save_checkpoint(path, tensors, config)
