"""The ablations of the synthesis choices (the InfiR paper's claim at CPU scale): the same SFT budget on training sets
that differ in one choice, scored on the multi-step tier (the issue's measure) and the one-to-two-step tier (which
moves first at a small budget) by the same evaluation as the main checkpoint (run_recipe.stage_ablation).

- candidates: "rejection" trains on the verified, best-ranked response of each instruction; "raw" on every candidate
  the teachers wrote, unverified (the program's solutions and the teacher model's, as they came);
- instructions: "evolved" uses the seeds and their evolved variants; "seeds" the seeds only.

Every arm reads the same synthesis run (DIR/synth), so the arms differ in nothing else; all are decontaminated.
"""

from __future__ import annotations

from pathlib import Path

from training.recipe import ARMS, InfirRecipe
from training.sft.records import StepLog, read_jsonl, write_jsonl
from training.sft.sft_set import raw_examples, sft_examples


def arm_examples(arm: str, synth: Path, recipe: InfirRecipe, path: Path) -> tuple[Path, dict]:
    """Write the arm's SFT conversations to `path`; returns (path, counts)."""
    candidates, instructions = ARMS[arm]
    removed_file = synth / "decontam" / "removed.jsonl"
    removed = {r["id"] for r in read_jsonl(removed_file)} if removed_file.is_file() else set()
    if candidates == "rejection":
        records = read_jsonl(synth / "accepted.jsonl")
        if instructions == "seeds":
            records = [r for r in records if r.get("origin") == "seed"]
        examples = sft_examples(records, recipe.synthesis.sft_set)
    else:
        records = [r for r in StepLog(synth / "candidates.jsonl").kept() if r["id"] not in removed]
        if instructions == "seeds":
            records = [r for r in records if r.get("origin") == "seed"]
        examples = raw_examples(records, recipe.synthesis.sft_set.seed)
    write_jsonl(path, examples)
    teacher = sum(e.get("source") == "teacher" for e in examples)
    return path, {"instructions_used": len(records), "examples": len(examples), "teacher_examples": teacher}
