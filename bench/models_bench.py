"""Measure the packaged models on this machine: conversion, load, generation and scoring speed.

Usage: python bench/models_bench.py [--generators a,b] [--evaluators x,y] [--data DIR]
Prints figures; asserts nothing. Generator latencies are at batch 1 after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from offchain.data import load_records, sample
from offchain.metrics import f1_times_10
from offchain.models import load_evaluator, load_generator
from offchain.models.generators import DecodingConfig
from offchain.models.sources import model_cache_dir

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_generator(name: str, squad: list, cnn: list) -> None:
    cached = model_cache_dir(name).exists()
    began = time.perf_counter()
    gen = load_generator(name, decoding=DecodingConfig(batch_size=1), progress=False)
    first = time.perf_counter() - began
    began = time.perf_counter()
    gen = load_generator(name, decoding=DecodingConfig(batch_size=1), progress=False)
    load = time.perf_counter() - began
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
    gen4 = type(gen)(gen.name, gen.model, gen.tokenizer, stop_at_newline=gen.stop_at_newline,
                     decoding=DecodingConfig(batch_size=4))
    out = gen4.generate_records(cnn[1:5])
    print(f"  summary at batch 4: {out[0].latency_s:.2f} s per sample", flush=True)


def bench_evaluator(name: str, squad: list) -> None:
    began = time.perf_counter()
    ev = load_evaluator(name, progress=False)
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
    args = parser.parse_args()
    squad = sample(load_records(args.data / "squad_v1.1_dev.jsonl"), 256, seed=0)
    cnn = load_records(args.data / "cnn_dailymail_test.jsonl", limit=8)
    for name in filter(None, args.generators.split(",")):
        bench_generator(name, squad[:4], cnn)
    for name in filter(None, args.evaluators.split(",")):
        bench_evaluator(name, squad)


if __name__ == "__main__":
    main()
