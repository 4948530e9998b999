"""The LLM layer's defaults, in one place: `LLMEndpoint`, `Sampling`, the synth CLI and the judge
read them.

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
#: Extra attempts after a timeout / 429 / 5xx / connection error (OpenAI-compatible servers).
RETRIES = 3

# The LLM judge of open answers (`radvqa-train eval --judge`): greedy, so that an item gets
# the same verdict again; a verdict is ~6 tokens, with room for a short preamble.
JUDGE_TEMPERATURE = 0.0
JUDGE_TOP_P = 1.0
JUDGE_MAX_NEW_TOKENS = 32
JUDGE_RETRIES = 2
