"""grokflow: train small transformers on modular arithmetic and measure why they grok."""
