"""Step 4, rejection sampling: verify every candidate, score the ones that pass, keep the best if it clears the bar.

The verifier is the gate (a wrong answer is never kept however well it reads); the scorer ranks the survivors and
`min_score` rejects weak ones. Scoring costs a reward-model pass or a judge call per candidate, so `score_when`
says when to pay it: "always" (paper scale), or "choice" (only when more than one candidate passed: a lone verified
candidate is kept on the verifier's word, the CPU recipe's setting). Candidates of records with nothing to verify
against (free-form prompts) are ranked by the scorer alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RejectionSettings:
    min_score: float = 0.0  # the bar, in the scorer's units (a judge: 0.1-1.0)
    score_when: str = "always"  # "always" | "choice"
    prefer: str = "shortest"  # among equal scores: "shortest" (concise chains) or "longest" (long-CoT)


class RejectionSample:
    """Maps a record with `candidates` to the record with its chosen `response`, or drops it with the reason."""

    name = "rejection"

    def __init__(self, settings: RejectionSettings, scorer=None, sandbox_limits=None) -> None:
        self.settings, self.scorer, self.sandbox_limits = settings, scorer, sandbox_limits

    def __call__(self, record: dict) -> tuple[list[dict], list[dict]]:
        from training.sft.reward import verify

        verdicts = []
        for candidate in record["candidates"]:
            passed, why = verify(record, candidate["text"], self.sandbox_limits)
            verdicts.append({**candidate, "verified": passed, "why": why})
        checkable = [v for v in verdicts if v["verified"] is not None]
        survivors = [v for v in verdicts if v["verified"] is not False]
        teacher = [v for v in checkable if v["source"] == "teacher"]
        stats = {"candidates": len(verdicts), "passed": sum(bool(v["verified"]) for v in verdicts),
                 "teacher_candidates": len(teacher), "teacher_passed": sum(bool(v["verified"]) for v in teacher)}
        base = {k: v for k, v in record.items() if k != "candidates"}
        if not survivors:
            return [], [{**base, "candidates": verdicts, "rejection": stats, "reason": "no candidate passed"}]
        if self.scorer is not None and (self.settings.score_when == "always" or len(survivors) > 1):
            scores = self.scorer(record["instruction"], [v["text"] for v in survivors])
            for verdict, score in zip(survivors, scores, strict=True):
                verdict["score"] = score
            scored = [v for v in survivors if v.get("score") is not None]
            if scored:
                survivors = [v for v in scored if v["score"] >= self.settings.min_score]
                if not survivors:
                    return [], [{**base, "candidates": verdicts, "rejection": stats,
                                 "reason": f"every passing candidate scored below {self.settings.min_score}"}]
        best = max(survivors, key=self._rank)
        kept = {**base, "response": best["text"], "response_source": best["source"],
                "reward_score": best.get("score"), "candidates": verdicts, "rejection": stats}
        return [kept], []

    def _rank(self, verdict: dict) -> tuple:
        length = len(verdict["text"])
        return (verdict.get("score") or 0.0, -length if self.settings.prefer == "shortest" else length)
