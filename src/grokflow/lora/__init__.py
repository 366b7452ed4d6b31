"""The LoRA rank study: low-rank adapters of frozen weights (`adapters`) and fine-tuning a grokked
model to another op with them against full fine-tuning (`finetune`)."""
