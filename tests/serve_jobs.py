"""Waiting for a genlab server's job over its REST API (shared by the server tests)."""

from __future__ import annotations

import time

FINAL = ("done", "failed", "cancelled")


def wait_job(client, job_id: str, timeout: float = 60) -> dict:
    """The job once it is final (done, failed or cancelled); AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in FINAL:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")
