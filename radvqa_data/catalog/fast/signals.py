"""Hold Ctrl-C back during short catalog writes, then deliver it.

DuckDB turns a Ctrl-C that arrives during a statement into its own errors ("Query interrupted",
or an InvalidInputException wrapping KeyboardInterrupt), which would reach the user as a
traceback. Around each statement the ingester runs, a Ctrl-C is recorded instead and raised as
KeyboardInterrupt as soon as the statement is done, so the CLI reports it in one line and every
committed batch is whole.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Run the block with SIGINT recorded, then raise KeyboardInterrupt if one came."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives Python's SIGINT handler
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
