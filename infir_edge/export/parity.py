"""Does the exported bundle still compute the model it came from?

The bundle runs in its own runtime beside the fp32 reference (transformers, the source's weights) on a
fixed prompt set. Recorded: top-1 agreement (next-token argmax over every position, teacher-forced),
mean KL divergence of the next-token distributions, how many greedy tokens the two share before they
part, and whether both tokenize a set of awkward strings identically. Each quantization has a floor on
top-1 agreement; an export below it fails unless forced.

An InfiR-VL bundle is also measured on images (`compare_vision`): the image embeddings of a few synthetic images
(cosine similarity per image token and the largest error relative to the reference's largest value), then a chat
prompt with each image: next-token agreement and KL teacher-forced along the reference's greedy continuation, and
how many greedy tokens the two share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from infir_edge.errors import VerificationError

PROMPTS = (
    "The capital of France is Paris, and the capital of Germany is Berlin. Both cities",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "Question: Tom has 3 apples and buys 5 more. How many apples does he have? Answer: Tom has",
    "The mitochondria is the powerhouse of the cell. It produces energy in the form of",
    "In 1969, Neil Armstrong became the first person to walk on the Moon. The mission was",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    # past 256 tokens: RoPE scaling (Llama 3's, linear) changes the rotary frequencies with distance, so an export
    # that drops or misreads it parts from the reference on long prompts first
    "A lighthouse is a tower, building, or other structure designed to emit light from a system of lamps and "
    "lenses and to serve as a navigational aid for maritime pilots at sea or on inland waterways. Lighthouses mark "
    "dangerous coastlines, hazardous shoals, reefs, rocks, and safe entries to harbors; they also assist in aerial "
    "navigation. Once widely used, the number of operational lighthouses has declined due to the expense of "
    "maintenance and the use of satellite navigation systems. Before the development of clearly defined ports, "
    "mariners were guided by fires built on hilltops. Since elevating the fire would improve the visibility, "
    "placing the fire on a platform became a practice that led to the development of the lighthouse. In "
    "antiquity, the lighthouse functioned more as an entrance marker to ports than as a warning signal for reefs "
    "and promontories, unlike many modern lighthouses. The most famous lighthouse structure from antiquity was "
    "the Pharos of Alexandria, Egypt, which collapsed following a series of earthquakes between 956 and 1323. "
    "The intact Tower of Hercules at A Coruna, Spain gives insight into ancient lighthouse construction; other "
    "evidence about lighthouses exists in depictions on coins and mosaics, of which many represent the "
    "lighthouse at Ostia. Coins from Alexandria, Ostia, and Laodicea in Syria also exist. The modern era of "
    "lighthouses began at the turn of the 18th century, as the number of lighthouses being constructed increased "
    "significantly due to much higher levels of transatlantic commerce. Advances in structural engineering and "
    "new and efficient lighting equipment allowed for the creation of larger and more powerful lighthouses, "
    "including ones exposed to the sea. The function of lighthouses was gradually changed from indicating ports "
    "to providing a visible warning against shipping hazards, such as rocks or reefs. The keeper of the light",
)
TOKENIZER_STRINGS = (
    "1234567890 3.14159 -42 1,000,000 2024-11-25",
    "spaces:  two   three    four\ttab\nnewline\n\nblank",
    "ünïcödé café naïve 日本語 한국어 emoji 🙂",
    "def add(a, b):\n    return a + b  # sum\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n",
)
GREEDY_TOKENS = 16
VISION_PROMPT = "Describe this image in one sentence."
VISION_COSINE_FLOOR = 0.99  # per image token; an f16 tower keeps ~0.9999
# minimum top-1 agreement per quantization; what a lossless export must keep is near 1.0
FLOORS = {
    "f32": 0.95, "fp32": 0.95, "f16": 0.95, "bf16": 0.90,
    "q8_0": 0.90, "int8": 0.90, "8da8w": 0.90, "q6_k": 0.85, "q5_k_m": 0.80,
    "q4_0": 0.75, "q4_1": 0.75, "q4_k_m": 0.75, "int4": 0.75, "8da4w": 0.75,
}


@dataclass
class Verification:
    top1_agreement: float
    mean_kl: float
    greedy_match_tokens: float  # mean over prompts, of GREEDY_TOKENS
    tokenizer_agreement: float  # fraction of strings tokenized identically
    floor: float
    passed: bool
    prompts: int

    def as_dict(self) -> dict:
        return asdict(self)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, in float64 (4-bit logits differ in the 4th decimal)."""
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _kl(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean KL(reference || candidate) over positions, from logits `[T, V]`."""
    p_log, q_log = log_softmax(reference), log_softmax(candidate)
    return float(np.mean(np.sum(np.exp(p_log) * (p_log - q_log), axis=-1)))


def _shared_prefix(a: list[int], b: list[int]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare(reference, candidate, quant: str) -> Verification:
    """Measure `candidate` (an Engine on the bundle) against `reference` (an Engine on the fp32 source)."""
    same_tokens = [reference.tokenize(s) == candidate.tokenize(s) for s in TOKENIZER_STRINGS]
    agreements, kls, shared = [], [], []
    n_ctx = min(reference.n_ctx, candidate.n_ctx)
    for prompt in PROMPTS:
        ids = reference.tokenize(prompt)  # a prompt longer than a small context is cut to fit it
        ref_logits = reference.teacher_forced_logits(ids[:n_ctx])
        cand_logits = candidate.teacher_forced_logits(ids[:n_ctx])[:, : ref_logits.shape[1]]
        agreements.append(ref_logits.argmax(-1) == cand_logits.argmax(-1))
        kls.append(_kl(ref_logits, cand_logits))
        greedy_prompt = ids[: n_ctx - GREEDY_TOKENS]
        ref_greedy = reference.generate(greedy_prompt, max_new_tokens=GREEDY_TOKENS).token_ids
        cand_greedy = candidate.generate(greedy_prompt, max_new_tokens=GREEDY_TOKENS).token_ids
        shared.append(_shared_prefix(ref_greedy, cand_greedy))
    top1 = float(np.mean(np.concatenate(agreements)))
    floor = FLOORS.get(quant, 0.75)
    return Verification(
        top1_agreement=round(top1, 4),
        mean_kl=round(float(np.mean(kls)), 5),
        greedy_match_tokens=round(float(np.mean(shared)), 2),
        tokenizer_agreement=round(float(np.mean(same_tokens)), 4),
        floor=floor,
        passed=top1 >= floor and all(same_tokens),
        prompts=len(PROMPTS),
    )


def synthetic_images() -> list:
    """Deterministic test images of other sizes than the tower's (so the shared resize runs too): a colour
    gradient, rendered text, a checkerboard with noise."""
    from PIL import Image, ImageDraw

    ramp = np.linspace(0, 255, 160, dtype=np.float32)
    gradient = np.stack([np.add.outer(ramp[:120], ramp) / 2, np.add.outer(ramp[:120], ramp[::-1]) / 2,
                         np.full((120, 160), 96.0)], axis=-1)
    text = Image.new("RGB", (200, 120), "white")
    draw = ImageDraw.Draw(text)
    draw.rectangle((8, 8, 192, 36), fill=(30, 90, 200))
    draw.text((14, 14), "Settings", fill="white")
    draw.text((14, 60), "Wi-Fi  Bluetooth  42%", fill="black")
    rng = np.random.default_rng(0)
    checker = (np.indices((96, 96)).sum(0) // 12 % 2 * 180.0)[..., None] + rng.normal(0, 20, (96, 96, 3))
    checker = Image.fromarray(np.clip(checker, 0, 255).astype(np.uint8))
    return [Image.fromarray(gradient.astype(np.uint8)), text, checker]


def _forced_with_images(engine, text: str, images: list, tokens: list[int]) -> np.ndarray:
    """Next-token logits `[len(tokens) + 1, V]` after the prompt with its images and after each of `tokens`."""
    with engine._exclusive():
        rows = [np.array(engine._prefill_images(text, images), dtype=np.float32)]
        rows += [np.array(engine._decode(t), dtype=np.float32) for t in tokens]
    return np.stack(rows)


def compare_vision(reference, candidate, quant: str, images: list | None = None) -> dict:
    """Measure `candidate`'s image path against `reference` (both Engines that take images)."""
    from infir_edge.models.images import load_image
    from infir_edge.runtime.chat import split_images

    images = [load_image(i) for i in (images or synthetic_images())]
    cosines, errors, agreements, kls, shared = [], [], [], [], []
    for image in images:
        ref_embd, cand_embd = reference.image_embeddings(image), candidate.image_embeddings(image)
        if ref_embd.shape != cand_embd.shape:
            raise VerificationError(f"image embeddings differ in shape: {ref_embd.shape} vs {cand_embd.shape}")
        norms = np.linalg.norm(ref_embd, axis=-1) * np.linalg.norm(cand_embd, axis=-1)
        cosines.append(np.sum(ref_embd * cand_embd, axis=-1) / np.maximum(norms, 1e-12))
        errors.append(float(np.abs(ref_embd - cand_embd).max() / max(float(np.abs(ref_embd).max()), 1e-12)))

        messages = [{"role": "user", "content": [{"type": "image", "image": image},
                                                  {"type": "text", "text": VISION_PROMPT}]}]
        text = reference.apply_chat_template(split_images(messages)[0])
        path = reference.generate(messages, max_new_tokens=GREEDY_TOKENS, ignore_eos=True).token_ids
        ref_logits = _forced_with_images(reference, text, [image], path[:-1])
        cand_logits = _forced_with_images(candidate, text, [image], path[:-1])[:, : ref_logits.shape[1]]
        agreements.append(ref_logits.argmax(-1) == cand_logits.argmax(-1))
        kls.append(_kl(ref_logits, cand_logits))
        cand_path = candidate.generate(messages, max_new_tokens=GREEDY_TOKENS, ignore_eos=True).token_ids
        shared.append(_shared_prefix(path, cand_path))
    cosines = np.concatenate(cosines)
    top1 = float(np.mean(np.concatenate(agreements)))
    floor = FLOORS.get(quant, 0.75)
    return {
        "images": len(images),
        "min_cosine": round(float(cosines.min()), 6),
        "mean_cosine": round(float(cosines.mean()), 6),
        "max_rel_error": round(max(errors), 6),
        "top1_agreement": round(top1, 4),
        "mean_kl": round(float(np.mean(kls)), 5),
        "greedy_match_tokens": round(float(np.mean(shared)), 2),
        "tokens": GREEDY_TOKENS,
        "cosine_floor": VISION_COSINE_FLOOR,
        "floor": floor,
        "passed": bool(cosines.min() >= VISION_COSINE_FLOOR and top1 >= floor),
    }
