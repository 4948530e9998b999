"""radvqa train: shards -> stage 1..N (LoRA) -> checkpoints -> eval."""
