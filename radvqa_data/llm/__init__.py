"""LLM-backed synthesis: prompts -> backend text -> parsed, grounded, verified candidates.

Entry point for `radvqa-data synth --backend openai|transformers|vllm`:
`radvqa_data.llm.factory.make_generator`. Parsing alone: `radvqa_data.llm.parse.parse_response`
(and `radvqa-data parse-responses FILE`). See docs/llm.md.
"""
