"""The one place that imports FiftyOne (the `review` extra), with the settings this project needs.

FiftyOne reads its settings from the environment at import time, so they are set here first,
as defaults a user's own environment overrides:

- ``FIFTYONE_DO_NOT_TRACK=true``: FiftyOne otherwise sends usage analytics, and nothing in this
  project may use the network.
- ``FIFTYONE_DATABASE_VALIDATION=false``: the mongod that installs here (fiftyone-db 0.4.5,
  MongoDB 6.0; docs/library-notes-review.md) makes FiftyOne 1.22 print a deprecation notice on
  every start.

``FIFTYONE_DATABASE_DIR`` (where the bundled MongoDB keeps its files, default ~/.fiftyone) is
left to the user; the tests point it at a temporary folder.
"""

from __future__ import annotations

import os
from typing import Any

from radvqa_data.core.errors import InputError, require

INSTALL = "pip install 'radvqa[review]' (or `just setup`)"


def fiftyone() -> Any:
    """`import fiftyone` with the settings above, or a one-line error with the install command."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    return require("fiftyone", INSTALL)


def load(name: str) -> Any:
    """The FiftyOne dataset `name`, or an error that lists the ones that exist."""
    fo = fiftyone()
    if not fo.dataset_exists(name):
        known = ", ".join(fo.list_datasets()) or "none"
        raise InputError(
            f"no FiftyOne dataset named '{name}' (known: {known}); "
            "build it with `radvqa-data review DIR --catalog CAT --name NAME`"
        )
    return fo.load_dataset(name)
