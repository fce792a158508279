"""Evaluate an InfiR-VL model on held-out examples: batched greedy generation with transformers, then the task's
own scorer (GUI grounding: the point inside the target element; text rendering: exact transcription).

Batched on the torch model for speed (one prompt at a time through an Engine is ~10x slower on a CPU); the same
chat text and pixels as the Engine (training.vl.batches), so the figures carry over to `infir_edge.load`.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.vl.batches import IGNORE, Encoded, Encoder, collate
from training.vl.examples import VLExample


@dataclass
class Scored:
    metric: str
    value: float
    n: int
    details: dict


def generate_answers(model, tokenizer, examples: list[VLExample], *, max_new_tokens: int = 32, batch_size: int = 16,
                     progress: bool = False, desc: str = "evaluating") -> list[str]:
    """Greedy answers of `model` to each example's image + prompt."""
    import numpy as np
    import torch
    from tqdm import tqdm

    encoder = Encoder(tokenizer, model.config, max_length=10**6)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = model.generation_config.eos_token_id
    answers: list[str] = []
    model.eval()
    for start in tqdm(range(0, len(examples), batch_size), desc=desc, unit="batch", disable=not progress):
        chunk = examples[start:start + batch_size]
        encoded = [Encoded(ids, [IGNORE] * len(ids), np.asarray(_square(e, encoder), dtype=np.uint8))
                   for e, ids in ((e, encoder.expand(encoder.prompt_ids(e.prompt))) for e in chunk)]
        batch = collate(encoded, pad_id, left_pad=True)
        batch.pop("labels")
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id,
                                 eos_token_id=eos)
        prompt_length = batch["input_ids"].shape[1]
        answers += tokenizer.batch_decode(out[:, prompt_length:], skip_special_tokens=True)
    return [a.strip() for a in answers]


def _square(example: VLExample, encoder: Encoder):
    from infir_edge.models.images import resize_square

    return resize_square(example.image, encoder.image_size)


def evaluate_grounding(model, tokenizer, examples: list[VLExample], **options) -> Scored:
    from training.vl.gui_data import grounding_accuracy

    answers = generate_answers(model, tokenizer, examples, desc="grounding", **options)
    accuracy = grounding_accuracy(answers, examples)
    return Scored("grounding_accuracy", accuracy, len(examples),
                  {"answers": [{"prompt": e.prompt, "target": e.target, "answer": a}
                               for e, a in zip(examples, answers, strict=True)]})


def evaluate_transcription(model, tokenizer, examples: list[VLExample], **options) -> Scored:
    from training.vl.text_render import transcription_accuracy

    answers = generate_answers(model, tokenizer, examples, desc="text rendering", **options)
    figures = transcription_accuracy(answers, [e.target for e in examples])
    return Scored("transcription_exact", figures["exact_match"], len(examples),
                  {**figures, "answers": [{"prompt": e.prompt, "target": e.target, "answer": a}
                                          for e, a in zip(examples, answers, strict=True)]})
