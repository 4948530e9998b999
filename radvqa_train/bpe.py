"""The byte-level BPE tokenizer of the tiny and real-size test models, trained on the shipped
radiology corpus (no tokenizer files can be downloaded here). Its own module because the tiny
model builders and the new families' builders both use it (a shared home avoids an import
cycle between `tiny_model` and `new_families`)."""

from __future__ import annotations

from importlib import resources

#: Vocabulary of the tiny models' tokenizer (larger: slower tests, no more meaning).
BPE_VOCAB = 1024


def corpus_lines() -> list[str]:
    """The shipped radiology text, one caption or question+answer per line."""
    text = resources.files("radvqa_train").joinpath("data/radiology_corpus.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


def train_tokenizer(special: list[str], *, bos: str, eos: str, pad: str, unk: str, **extra: object):
    """Byte-level BPE on the corpus, wrapped as a transformers fast tokenizer (`extra`: more
    tokenizer kwargs, e.g. Gemma 3's named ``extra_special_tokens``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=pad, unk_token=unk, **extra
    )


#: The Qwen2.5-VL / Qwen3-VL chat and vision special tokens (their tokenizer_config.json).
QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<unk>",
]


def qwen_tokenizer():
    """The corpus BPE tokenizer with the Qwen VL special tokens (tiny Qwen2.5-VL and Qwen3-VL)."""
    return train_tokenizer(
        QWEN_SPECIAL, bos="<|im_start|>", eos="<|im_end|>", pad="<|endoftext|>", unk="<unk>"
    )
