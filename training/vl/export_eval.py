"""Export the final InfiR-VL checkpoint (each format of the recipe) and re-score grounding through the bundle with
`infir_edge.load`: the figure a user of the exported model gets, one prompt at a time through the Engine API."""

from __future__ import annotations

import json
import time
from pathlib import Path

from infir_edge.files import atomic_write_text


def bundle_folder(out: Path, index: int, spec: str) -> Path:
    return out / "bundle" if index == 0 else out / f"bundle-{spec.replace(':', '-')}"


def export_and_score(recipe, out: Path, checkpoint: Path, echo) -> dict:
    from infir_edge.export import export

    results = {}
    for index, spec in enumerate(recipe.export.formats):
        fmt, _, quant = spec.partition(":")
        bundle = bundle_folder(out, index, spec)
        started = time.perf_counter()
        if not bundle.is_dir():
            export(checkpoint, format=fmt, quant=quant, out=bundle, threads=1)
        manifest = json.loads((bundle / "manifest.json").read_text())
        score = score_bundle(bundle, out, recipe.eval.bundle_items, recipe.eval.max_new_tokens)
        results[spec] = {"bundle": str(bundle), "verification": manifest.get("verification", {}),
                         "grounding_accuracy": score["grounding_accuracy"], "items": score["items"],
                         "seconds": round(time.perf_counter() - started, 1)}
        echo(f"   {spec}: {bundle} grounding {score['grounding_accuracy']:.3f} on {score['items']} held-out screens")
    return {"bundles": results}


def score_bundle(bundle: Path, out: Path, items: int, max_new_tokens: int) -> dict:
    """Grounding accuracy of the bundle on the first `items` held-out screens (answers kept in BUNDLE_eval.json)."""
    import infir_edge
    from android_agent.vl_prompt import vl_messages
    from training.vl.gui_data import grounding_accuracy
    from training.vl.run import held_out

    path = bundle.with_name(bundle.name + "_eval.json")
    if path.is_file():
        return json.loads(path.read_text())
    examples = held_out(out, "grounding", items)
    # the vl policy's conversation, which renders as training's (a test checks vl_messages against batches.user_turn)
    # one thread: on a busy 2-core machine llama.cpp's second thread spin-waits (decode 330 ms a token instead of 1)
    with infir_edge.load(bundle, threads=1) as engine:
        answers = [engine.generate(vl_messages(e.image, e.prompt), max_new_tokens=max_new_tokens,
                                   temperature=0.0).text.strip()
                   for e in examples]
    score = {"grounding_accuracy": grounding_accuracy(answers, examples), "items": len(examples),
             "answers": answers}
    atomic_write_text(path, json.dumps(score, indent=1) + "\n")
    return score

