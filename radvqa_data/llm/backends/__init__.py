"""Backends turn prompts into raw text; prompt building and parsing live outside them.

`openai_http` (any OpenAI-compatible server), `hf_local` (transformers in-process) and
`vllm_local` (vLLM in-process, GPU extra). Each is imported only when chosen.
"""
