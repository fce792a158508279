"""The one prompt format of the `vl` policy: what a vision-language model reads beside the screenshot.

The VL training data (training/vl) imports this module, so the trained model sees at inference exactly the text
it was trained on. The user turn is the screenshot, then this text; the assistant answers with one JSON action,
coordinates in 0..1000 (e.g. `{"action": "click", "x": 512, "y": 300}`). Kept short: a 135M model reads it beside
its image tokens within a ~200-token budget.

    Task: Turn on Wi-Fi
    Previous actions:
    1. {"action": "open_app", "app": "Settings"}
    2. {"action": "click", "x": 500, "y": 212}
    Next action:

"Previous actions:" is left out when there are none; `elements_text` (the `describe_elements` list, for the
policy's `with_elements` variant) comes as "Screen:" and its lines before "Next action:"; a rejected reply's
reason (`feedback`, at inference only) as "Rejected: <reason>" on the line before "Next action:".
"""

from __future__ import annotations

import json

VL_MAX_HISTORY = 4  # the most recent actions the prompt shows


def vl_prompt_text(instruction: str, history: list[dict], elements_text: str | None = None, *,
                   max_history: int = VL_MAX_HISTORY, feedback: str | None = None) -> str:
    """The text after the screenshot: the task, the last `max_history` actions of `history` (JSON action dicts,
    oldest first), the element list if given, then "Next action:"."""
    lines = [f"Task: {instruction}"]
    recent = history[-max_history:] if max_history > 0 else []
    if recent:
        lines.append("Previous actions:")
        lines += [f"{i}. {json.dumps(action, ensure_ascii=False)}" for i, action in enumerate(recent, 1)]
    if elements_text:
        lines += ["Screen:", elements_text]
    if feedback:
        lines.append(f"Rejected: {feedback}")
    lines.append("Next action:")
    return "\n".join(lines)


def vl_messages(image, text: str) -> list[dict]:
    """The conversation `Engine.generate` takes: the user's screenshot, then `text`. No system message, as in
    training (`training.vl.batches.user_turn`): the chat template's default one applies to both."""
    return [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": text}]}]
