"""`python -m training.agent --recipe R --out DIR`: demonstrations -> SFT -> GGUF bundle -> benchmark -> report.

    DIR/demonstrations/train.jsonl   (prompt, action) conversations from the oracle on the simulated phone,
                                     training seeds only (>= 1000), held-out tasks never; summary.json per kind
    DIR/sft/                         training.sft.train (TRL; loss on the action and its end-of-turn only)
    DIR/bundle/                      the GGUF bundle (infir_edge.export)
    DIR/bench/                       `infir-agent bench --policy model --model DIR/bundle` on the evaluation seed,
                                     through the real uiautomator2 client and the simulated phone's adb server
    DIR/report.json, report.md       success on the trained tasks, on the held-out ones, the policy's time per step

Every stage is marked done in DIR/stages/<name>.json; a rerun skips what is done, SFT resumes from its last
checkpoint and the benchmark from its last finished task.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.agent.recipe import AgentRecipe
from training.isolated import run_isolated
from training.pretrain.errors import TrainingError
from training.run_recipe import pin_run, run_stages

STAGES = ("demonstrations", "sft", "export", "bench", "report")


def run_agent_recipe(recipe: AgentRecipe, out: str | Path, *, overwrite: bool = False, stop_after: str | None = None,
                     echo=print) -> dict:
    out = Path(out).resolve()
    if stop_after is not None and stop_after not in STAGES:
        raise TrainingError(f"--stop-after must be one of {', '.join(STAGES)}, got {stop_after!r}")
    pin_run(out, json.loads(json.dumps(recipe.as_dict(), default=str)), overwrite, TrainingError)
    return run_stages(STAGES, STAGE_FUNCTIONS, recipe, out, stop_after=stop_after, echo=echo)


def stage_demonstrations(recipe: AgentRecipe, out: Path, results: dict, echo) -> dict:
    from tqdm import tqdm

    from android_agent.local_device import LocalPhoneDevice
    from android_agent.policy import ModelPolicy
    from training.agent.demonstrations import DeviationRates, record_demonstrations
    from training.sft.records import write_jsonl

    d = recipe.demonstrations
    tasks = recipe.training_tasks()
    rates = DeviationRates(rejected=d.rejected, wrong_screen=d.wrong_screen, gate_refusal=d.gate_refusal)
    seeds = range(d.first_seed, d.first_seed + d.seeds)
    examples, episodes = [], []
    # in-process phone: the same screens and hierarchy as over adb, ~100x faster (no protocol in between)
    recorded = record_demonstrations(LocalPhoneDevice(), tasks, seeds, prompts=ModelPolicy(engine=None), rates=rates,
                                     max_steps=d.max_steps)
    for summary, kept in tqdm(recorded, total=len(tasks) * len(seeds), desc="demonstrations", unit="episode"):
        episodes.append(summary)
        examples += kept
    if not examples:
        raise TrainingError("the oracle recorded no demonstration")
    folder = out / "demonstrations"
    write_jsonl(folder / "train.jsonl", examples)
    figures = {"episodes": len(episodes), "examples": len(examples), "tasks": tasks, "seeds": [seeds[0], seeds[-1]],
               "by_kind": dict(collections.Counter(e["kind"] for e in examples)),
               "spoiled_episodes": sum(e["spoiled"] for e in episodes),
               "failed_episodes": sum(not e["success"] and not e["spoiled"] for e in episodes)}
    atomic_write_text(folder / "summary.json", json.dumps({**figures, "episodes_detail": episodes}, indent=1) + "\n")
    echo(f"{figures['examples']} examples from {figures['episodes']} episodes: {figures['by_kind']}")
    return figures


def stage_sft(recipe: AgentRecipe, out: Path, results: dict, echo) -> dict:
    from training.sft.train import train_sft

    # its own process (training.isolated): clean memory and threads on a small machine
    final = run_isolated(train_sft, out / "demonstrations" / "train.jsonl", out / "sft", recipe.sft)
    return {"final": str(final), "summary": json.loads((out / "sft" / "summary.json").read_text())}


def stage_export(recipe: AgentRecipe, out: Path, results: dict, echo) -> dict:
    from infir_edge.export import export

    bundle = export(results["sft"]["final"], format="gguf", quant=recipe.quant, out=out / "bundle", overwrite=True,
                    threads=recipe.bench.threads)
    return {"bundle": str(bundle)}


def stage_bench(recipe: AgentRecipe, out: Path, results: dict, echo) -> dict:
    import infir_edge
    from android_agent.bench import BenchSettings, run_bench
    from android_agent.device import Uiautomator2Device
    from android_agent.phone.phone import Phone
    from android_agent.phone.server import start_phone
    from android_agent.tasks import TASKS

    bundle = results["export"]["bundle"]
    settings = BenchSettings(policy="model", model=bundle, tasks=tuple(recipe.bench.tasks or TASKS),
                             seed=recipe.bench.seed,
                             max_steps=recipe.bench.max_steps)
    with infir_edge.load(bundle, threads=recipe.bench.threads) as engine, start_phone(Phone(seed=0)) as phone:
        device = Uiautomator2Device(phone.serial, port=phone.port)
        bench = run_bench(device, settings, out / "bench", engine=engine)
    return {"results": str(out / "bench" / "results.json"), "success_rate": bench["success_rate"]}


def stage_report(recipe: AgentRecipe, out: Path, results: dict, echo) -> dict:
    from training.agent.report import agent_report, render

    bench = json.loads(Path(results["bench"]["results"]).read_text())
    report = agent_report(recipe, bench, results)
    atomic_write_text(out / "report.json", json.dumps(report, indent=1) + "\n")
    atomic_write_text(out / "report.md", render(report))
    echo(f"trained tasks {report['success_rate']:.2f}, held-out {report['heldout_task_success_rate']:.2f}, "
         f"median step {report['median_step_s']:.2f} s: report {out / 'report.md'}")
    return report


STAGE_FUNCTIONS = {"demonstrations": stage_demonstrations, "sft": stage_sft, "export": stage_export,
                   "bench": stage_bench, "report": stage_report}
