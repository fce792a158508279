"""The run's record: one JSON line per optimizer step in OUT/metrics.jsonl, and OUT/loss.png (loss and learning rate
against tokens, the stage boundaries marked)."""

from __future__ import annotations

import json
from pathlib import Path

from infir_edge.files import atomic_write_bytes, atomic_write_text


class MetricsLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate_after(self, step: int) -> None:
        """Forget the steps after `step` (a resumed run redoes them from its checkpoint)."""
        kept = [r for r in self.read() if r["step"] <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:  # the line a kill cut short
                continue
        return rows


def plot_loss(records: list[dict], path: Path, title: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not records:
        return
    tokens = [r["tokens"] for r in records]
    figure, loss_axis = plt.subplots(figsize=(8, 4.5), dpi=120)
    loss_axis.plot(tokens, [r["loss"] for r in records], color="tab:blue", linewidth=1.2, label="training loss")
    loss_axis.set_xlabel("tokens trained")
    loss_axis.set_ylabel("loss (nats/token)")
    lr_axis = loss_axis.twinx()
    lr_axis.plot(tokens, [r["lr"] for r in records], color="tab:orange", linewidth=1, alpha=0.7, label="learning rate")
    lr_axis.set_ylabel("learning rate")
    for previous, record in zip(records, records[1:], strict=False):
        if record["stage"] != previous["stage"]:
            loss_axis.axvline(previous["tokens"], color="gray", linestyle="--", linewidth=0.8)
            loss_axis.text(previous["tokens"], loss_axis.get_ylim()[1], f" {record['stage']}", va="top", fontsize=8)
    loss_axis.set_title(title)
    figure.legend(loc="upper right", bbox_to_anchor=(0.88, 0.88), fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
