"""Joining a Ray cluster once per process, quietly.

Why a helper: a second `ray.init` in one process fails, so every step reuses the connection the
process already has (a test session's cluster, or the one the first `catalog add` started). Ray
Data prints progress bars and a log line per dataset, and Ray forwards every worker's output
to the driver: our own progress bar and summary are what a user reads, so both are turned off
(worker logs stay under Ray's session folder, `/tmp/ray/session_latest/logs`).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from radvqa_data.core.errors import ConfigError, RadvqaError, require

#: Extra attempts of a task (or Ray Data task/actor call) whose worker died.
RETRIES = 3


class WorkerLostError(RadvqaError):
    """A batch's worker died on every attempt; finished work is kept, a rerun continues."""


INSTALL = "pip install 'ray[data]==2.60.0'"


def ensure_ray(address: str | None = None) -> Any:
    """The `ray` module, connected: to the cluster at `address`, to the one this process has
    already joined, or to a new local instance sized to this machine (`address` None).

    `address` is what `ray start --head` prints (`HOST:6379`), or `auto` for the cluster this
    machine belongs to. An unreachable address is a `ConfigError` saying how to start one.
    """
    ray = require("ray", INSTALL)
    if not ray.is_initialized():
        _check_reachable(address)
        try:
            ray.init(
                address=address or None,
                include_dashboard=False if not address else None,
                log_to_driver=False,  # worker stdout/stderr stay in Ray's session logs
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"at {address}" if address else "on this machine"
            raise ConfigError(
                f"cannot start or reach a Ray cluster {where} ({str(exc).splitlines()[0]}); "
                "start one with `ray start --head` and pass the address it prints as --ray-address"
            ) from None
    quiet_ray_data()
    return ray


def _check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast on a `HOST:PORT` nobody listens on: `ray.init` retries it for minutes."""
    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else "bad port"
        raise ConfigError(
            f"--ray-address {address}: no Ray cluster answers there ({reason}); start one with "
            "`ray start --head` and pass the address it prints"
        ) from None


def quiet_ray_data() -> None:
    """No Ray Data progress bars, start-up lines or per-dataset INFO logs (on stdout or stderr)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    for name in ("ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.ERROR)


def cluster_cpus(ray: Any) -> int:
    """CPUs of the cluster this process joined (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def cluster_gpus(ray: Any) -> int:
    """GPUs of the cluster this process joined (0 on CPU-only clusters)."""
    return int(ray.cluster_resources().get("GPU", 0))
