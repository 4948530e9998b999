"""A local `transformers serve` (a real OpenAI-compatible peer) for the LLM and judge tests and
`bench/llm.py`; CPU, no network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_transformers_serve(
    model_dir: Path, port: int, log: Path, *, continuous_batching: bool = False
) -> subprocess.Popen:
    """`transformers serve MODEL_DIR` on 127.0.0.1:port, offline (no hub access)."""
    exe = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [
        str(exe),
        "serve",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
    ]
    if continuous_batching:
        cmd.append("--continuous-batching")
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, limit: float = 120.0) -> None:
    """Wait until the server at `url` answers /health; RuntimeError (with its log's end) if it
    exits first."""
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"transformers serve exited {proc.returncode}:\n{log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"transformers serve not healthy after {limit}s:\n{log.read_text()[-2000:]}")
