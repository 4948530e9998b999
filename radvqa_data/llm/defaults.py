"""The LLM layer's defaults, in one place: the synth CLI, the factory and `Sampling` read them.

No imports here, so the CLI can show these defaults in `--help` without loading a backend.
"""

from __future__ import annotations

#: 0 = greedy; higher = more varied questions, more junk.
TEMPERATURE = 0.7
TOP_P = 0.95
#: Longest reply; a reply of 4 pairs with evidence is about 250 tokens (raise it for verbose
#: or reasoning models: a cut reply shows as finish_reason "length" and fewer pairs).
MAX_NEW_TOKENS = 256
SEED = 0
#: Seconds per request attempt (OpenAI-compatible servers); a timeout is retried, then counted.
TIMEOUT_S = 60.0
#: Requests in flight; match the server's batch capacity.
CONCURRENCY = 8
#: Environment variable holding the API key.
API_KEY_ENV = "OPENAI_API_KEY"
