"""A tiny random-weight causal LM built from a config: for tests, benchmarks and the CPU demo.

No download: a byte-level BPE tokenizer is trained with `tokenizers` on a few radiology and JSON
lines, wrapped as a PreTrainedTokenizerFast with a chat template, and a 2-layer Llama is built
from a config. Its output is noise (random weights); it exercises every real code path of the
`transformers` backend and of `transformers serve`.
"""

from __future__ import annotations

from pathlib import Path

_CORPUS = [
    (
        '{"pairs": [{"question": "What imaging modality was used?", "answer": "CT", '
        '"answer_type": "open"}]}'
    ),
    "Axial contrast-enhanced CT of the chest shows a spiculated mass in the right upper lobe.",
    "Sagittal T2-weighted MRI of the lumbar spine: disc herniation at L4-L5 without stenosis.",
    "Frontal chest x-ray with a left pleural effusion and no pneumothorax.",
    'Q: Is there a fracture? A: yes. {"verdict": "no", "reason": "not in the caption"}',
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_causal_lm(
    out_dir: str | Path, *, hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a tiny Llama + tokenizer (with chat template) to `out_dir`; returns the directory."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 10, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|bos|>", eos_token="<|end|>", pad_token="<|pad|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,  # prompts with a long caption are ~1,500 tokens here
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    # `transformers serve` only samples when the model's generation config says so; a request's
    # temperature alone does not switch sampling on (instruct models ship do_sample=True).
    model.generation_config.do_sample = True
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out
