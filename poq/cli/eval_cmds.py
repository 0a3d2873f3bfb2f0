"""`poq eval run RUN_DIR` (the evaluation pipeline, resumable) and `poq eval status RUN_DIR`."""

from __future__ import annotations

from pathlib import Path

import click


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


@click.group("eval")
def eval_group() -> None:
    """The paper's evaluation pipeline: generations, F1, evaluator scores, judge, profiles, costs."""


@eval_group.command("run")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--squad",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQuAD v1.1 dev file [default: ../shared/data/squad_v1.1_dev.jsonl].",
)
@click.option(
    "--cnndm",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CNN/DailyMail test file [default: ../shared/data/cnn_dailymail_test.jsonl].",
)
@click.option("--n-squad", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--n-cnndm", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--generators",
    default=None,
    help="Comma-separated: catalog names, a pool (paper, packaged), hf:ORG/NAME, local dirs or .gguf files, "
    "openai:MODEL@URL [default: installed packaged ones].",
)
@click.option(
    "--evaluators",
    default=None,
    help="Comma-separated: catalog names, a pool (paper, packaged), hf:ORG/NAME[#KIND], local dirs "
    "[default: installed packaged ones].",
)
@click.option(
    "--device",
    default=None,
    help="auto | cpu | cuda[:N]: half precision and bigger batches on a GPU [default: env POQ_DEVICE, else auto].",
)
@click.option(
    "--heavy-subset",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Records per task a heavy generator answers when no GPU is present.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Generation batch (concurrent requests for openai: nodes) [default: 4 on CPU, 32 on a GPU].",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Summary length cap (QA answers are capped at 32 tokens).",
)
@click.option(
    "--judge-endpoint",
    envvar="POQ_JUDGE_ENDPOINT",
    default=None,
    help="OpenAI-compatible base URL for the judge (else a local generator judges).",
)
@click.option(
    "--judge-model",
    default=None,
    help="Model name at the endpoint, openai:MODEL@URL, or the local generator [default: strongest installed].",
)
@click.option(
    "--judge-samples",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Judged answers per (task, model).",
)
@click.option(
    "--profile-prompts",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Prompts timed at batch 1 per generator (after 3 warm-ups).",
)
@click.option("--stages", default=None, help="Comma-separated stages to run [default: all, in order].")
def run_cmd(
    run_dir: Path,
    squad: Path | None,
    cnndm: Path | None,
    n_squad: int,
    n_cnndm: int,
    seed: int,
    generators: str | None,
    evaluators: str | None,
    device: str | None,
    heavy_subset: int,
    batch_size: int | None,
    max_new_tokens: int,
    judge_endpoint: str | None,
    judge_model: str | None,
    judge_samples: int,
    profile_prompts: int,
    stages: str | None,
) -> None:
    """Run (or resume) the evaluation pipeline in RUN_DIR; finished work is skipped.

    Torch uses POQ_TORCH_THREADS threads (default 1; set 2 or more on a quiet machine).
    """
    from offchain.models.device import batch_for, resolve_device
    from simulation.pipeline import PipelineConfig, run_pipeline
    from simulation.pipeline.config import DEFAULT_CNNDM, DEFAULT_SQUAD, parse_stages
    from simulation.pipeline.progress import RichReporter

    config = PipelineConfig(
        run_dir=run_dir,
        squad=squad or DEFAULT_SQUAD,
        cnndm=cnndm or DEFAULT_CNNDM,
        n_squad=n_squad,
        n_cnndm=n_cnndm,
        seed=seed,
        generators=_names(generators),
        evaluators=_names(evaluators),
        heavy_subset=heavy_subset,
        batch_size=batch_size or batch_for(4, resolve_device(device)),
        device=device,
        max_new_tokens=max_new_tokens,
        judge_endpoint=judge_endpoint,
        judge_model=judge_model,
        judge_samples=judge_samples,
        profile_prompts=profile_prompts,
        stages=parse_stages(stages),
    )
    summary = run_pipeline(config, RichReporter())
    click.echo(
        f"done: {', '.join(summary.stages)}; {summary.generated} answers generated, "
        f"{summary.scored} scored, {summary.judged} judged ({summary.judge_failures} failed) "
        f"in this call; grid {summary.grid_records} records"
    )


@eval_group.command("status")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def status_cmd(run_dir: Path) -> None:
    """Which stage files RUN_DIR holds, and how many rows each."""
    from simulation.pipeline import run_status

    for stage, name, state in run_status(run_dir):
        click.echo(f"{stage:<13} {name:<18} {state}")


@eval_group.command("multidim")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the calibration / held-out split.")
def multidim_cmd(run_dir: Path, seed: int) -> None:
    """Multi-dimensional quality: dimensions per answer, reliability audit per task, calibrated composite.

    Needs a finished `poq eval run RUN_DIR`. Writes RUN_DIR/multidim.json and RUN_DIR/composite/ (the
    composite as the only evaluator: `poq simulate run RUN_DIR/composite --k 1`).
    """
    from simulation.multidim import run_multidim
    from simulation.pipeline.progress import RichReporter

    data = run_multidim(run_dir, RichReporter(), seed=seed)
    for task, audit in data["tasks"].items():
        held = audit["holdout"]
        best = max((n for n in held if not n.startswith("composite") and n != "mean consensus"),
                   key=lambda n: held[n]["spearman"])
        click.echo(f"{task}: held-out Spearman with F1 — calibrated composite "
                   f"{held['composite (calibrated)']['spearman']:.3f}, best evaluator {best} "
                   f"{held[best]['spearman']:.3f}, mean consensus {held['mean consensus']['spearman']:.3f}; "
                   f"kept {', '.join(audit['weights'])}")
