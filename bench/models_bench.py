"""Measure models on this machine: conversion, load, generation and scoring speed, peak memory.

Usage: python bench/models_bench.py [--generators a,b] [--evaluators x,y] [--data DIR] [--device auto|cpu|cuda]
Any model reference works (catalog names, `paper`/`packaged` pools, hf:ORG/NAME, paths, openai:MODEL@URL).
Prints figures; asserts nothing. Generator latencies are at batch 1 after one warm-up; peak memory is
CUDA's peak allocation on a GPU, else the process's peak RSS (`offchain.models.device`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from offchain.data import load_records, sample
from offchain.metrics import f1_times_10
from offchain.models import load_evaluator, load_generator
from offchain.models.device import batch_for, peak_memory_mb, reset_peak_memory, resolve_device
from offchain.models.generators import DecodingConfig
from offchain.models.sources import model_cache_dir
from simulation.pipeline.config import model_names

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_generator(name: str, squad: list, cnn: list, device: str | None) -> None:
    cached = model_cache_dir(name).exists()
    choice = resolve_device(device)
    began = time.perf_counter()
    gen = load_generator(name, decoding=DecodingConfig(batch_size=1), device=device, progress=False)
    first = time.perf_counter() - began
    began = time.perf_counter()
    gen = load_generator(name, decoding=DecodingConfig(batch_size=1), device=device, progress=False)
    load = time.perf_counter() - began
    reset_peak_memory(choice)
    label = "load (cached)" if cached else "convert+load"
    print(f"{name}: {label} {first:.1f} s; cached load {load:.1f} s", flush=True)
    gen.generate_records(squad[:1])  # warm-up
    qa = gen.generate_records(squad[1:])
    for rec, g in zip(squad[1:], qa, strict=True):
        print(f"  QA {g.latency_s:.2f} s {g.prompt_tokens}+{g.new_tokens} tok "
              f"F1x10={f1_times_10(g.text, rec.references):.1f} {g.text[:80]!r}", flush=True)
    print(f"  QA mean latency {statistics.mean(g.latency_s for g in qa):.2f} s", flush=True)
    [s] = gen.generate_records(cnn[:1])
    print(f"  summary {s.latency_s:.2f} s {s.prompt_tokens}+{s.new_tokens} tok {s.text[:100]!r}",
          flush=True)
    size = batch_for(4, choice)
    gen.decoding = DecodingConfig(batch_size=size, temperature=gen.decoding.temperature, top_p=gen.decoding.top_p)
    out = gen.generate_records((cnn[1:] * size)[:size])
    mb, what = peak_memory_mb(choice)
    print(f"  summary at batch {size}: {out[0].latency_s:.2f} s per sample; {what} {mb:.0f} MiB "
          f"({choice.name}, {choice.dtype})", flush=True)


def bench_evaluator(name: str, squad: list, device: str | None) -> None:
    began = time.perf_counter()
    ev = load_evaluator(name, device=device, progress=False)
    print(f"{name}: load {time.perf_counter() - began:.1f} s", flush=True)
    pairs = [(r.reference, r.question) for r in squad]
    ev.score(pairs[:4])  # warm-up
    for batch in (1, 32):
        ev.batch_size = batch
        if hasattr(ev, "_cache"):
            ev._cache.clear()
        chunk = pairs[:32] if batch == 1 else pairs
        began = time.perf_counter()
        if batch == 1:
            for p in chunk:
                ev.score([p])
        else:
            ev.score(chunk)
        rate = len(chunk) / (time.perf_counter() - began)
        print(f"  batch {batch}: {rate:.1f} pairs/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generators", default="smollm2-135m,gemma3-270m,qwen2.5-coder-0.5b")
    parser.add_argument("--evaluators", default="minilm-l6,mpnet-base,ce-minilm-l12")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--device", default=None, help="auto | cpu | cuda[:N] [default: POQ_DEVICE, else auto]")
    args = parser.parse_args()
    squad = sample(load_records(args.data / "squad_v1.1_dev.jsonl"), 256, seed=0)
    cnn = load_records(args.data / "cnn_dailymail_test.jsonl", limit=8)
    generators, evaluators = ([n for n in text.split(",") if n] for text in (args.generators, args.evaluators))
    for name in model_names(generators, "generator") if generators else []:  # empty: none (not the default set)
        bench_generator(name, squad[:4], cnn, args.device)
    for name in model_names(evaluators, "evaluator") if evaluators else []:
        bench_evaluator(name, squad, args.device)


if __name__ == "__main__":
    main()
