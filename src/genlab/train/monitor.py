"""What a training run reports besides its log lines: a torch.profiler report of chosen steps, a
graceful stop on SIGTERM/SIGINT, the hardware on the model card and the progress bar's fields.
"""

from __future__ import annotations

import platform
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from genlab.io import atomic_write_text


class StepProfiler:
    """torch.profiler over steps [first, first + count) of a run; `profile.txt` says where a
    step's time went: wall time, device busy time, the trainer's phases (record_function
    "genlab: ..."), then operators by device and by host time. It never stops training: a
    profiler failure is written to the report instead."""

    def __init__(self, path: Path, first: int, count: int, device: torch.device):
        self.path, self.first, self.last = Path(path), first, first + count - 1
        self.count, self.device = count, device
        self.prof, self.t0 = None, 0.0

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def before(self, step: int) -> None:
        if step != self.first:
            return

        activities = [ProfilerActivity.CPU]
        if self.device.type == "cuda":
            activities.append(ProfilerActivity.CUDA)
        try:
            self._sync()
            self.prof = profile(activities=activities, record_shapes=False)
            self.prof.__enter__()
        except Exception as e:  # noqa: BLE001 - a report, not a failure
            self.prof = None
            atomic_write_text(self.path, f"profiler did not start: {e!r}\n")
        self.t0 = time.monotonic()

    def after(self, step: int) -> None:
        if step != self.last or self.prof is None:
            return
        self._sync()
        wall_ms = (time.monotonic() - self.t0) * 1000 / self.count
        prof, self.prof = self.prof, None
        try:
            prof.__exit__(None, None, None)
            atomic_write_text(self.path, self.report(prof, wall_ms))
        except Exception as e:  # noqa: BLE001
            atomic_write_text(
                self.path, f"profile of steps {self.first}-{self.last} failed: {e!r}\n"
            )

    def report(self, prof, wall_ms: float) -> str:
        n = self.count
        events = prof.key_averages()
        dev = "self_device_time_total"
        cuda = self.device.type == "cuda"

        def device_us(e) -> float:
            return float(getattr(e, dev, 0.0) or 0.0)

        busy_ms = sum(device_us(e) for e in events) / 1000 / n if cuda else float("nan")
        lines = [
            f"steps {self.first}-{self.last} on {self.device} (torch {torch.__version__})",
            f"wall time per step: {wall_ms:.2f} ms (profiler overhead included)",
        ]
        if cuda:
            lines.append(
                f"device busy per step: {busy_ms:.2f} ms ({busy_ms / wall_ms:.0%} of the wall "
                "time; the rest the GPU waits for the host)"
            )
        lines += ["", "trainer phases (host time per step, ms; device time they launched):"]
        for e in sorted(events, key=lambda e: -e.cpu_time_total):
            if e.key.startswith("genlab: "):
                lines.append(
                    f"  {e.key[8:]:28s} host {e.cpu_time_total / 1000 / n:8.2f}"
                    + (f"   device {e.device_time_total / 1000 / n:8.2f}" if cuda else "")
                )
        if cuda:
            lines += ["", "by device time:", events.table(sort_by=dev, row_limit=25)]
        lines += ["", "by host time:", events.table(sort_by="self_cpu_time_total", row_limit=25)]
        return "\n".join(lines) + "\n"


class GracefulStop:
    """Turns the first SIGTERM or SIGINT into a request to stop after the current step (the
    loop then saves and exports); a second one acts as usual. Main thread only."""

    SIGNALS = ("SIGTERM", "SIGINT")

    def __init__(self):
        self.received: str | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for name in self.SIGNALS:
            sig = getattr(signal, name)
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        self.restore()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def hardware_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = (
            f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
        )
    return f"{world_size} × {name}" if world_size > 1 else name


def _side(image) -> int:
    if torch.is_tensor(image):
        return int(image.shape[-1])
    if hasattr(image, "size") and not isinstance(image, np.ndarray):
        return int(image.size[0])
    return int(np.asarray(image).shape[1])


def _postfix(means: dict[str, float]) -> dict[str, str]:
    out = {}
    for k, v in means.items():
        if k in ("step", "lr") or k.startswith("grad_norm"):
            continue
        out[k] = f"{v:.0f}" if k == "images_per_s" else f"{v:.4g}"
    return out
