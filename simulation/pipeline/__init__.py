"""The paper's evaluation pipeline: tasks → generations → F1 → evaluator scores → judge →
correlations → efficiency → costs, each stage a file in a run directory, then `poq report`.

Run it with ``poq eval run RUN_DIR`` (``poq eval status RUN_DIR`` shows how far it got) and
``poq report RUN_DIR``. Stage files (see each module):

- ``tasks.jsonl`` (`tasks`), ``generations.jsonl`` (`generate`), ``f1.jsonl`` and
  ``evaluations.jsonl`` + ``scores.jsonl`` (`quality`), ``judge.jsonl`` (`judge`),
  ``correlations.json`` (`analysis`), ``efficiency.json`` and ``costs.json`` (`profile`),
  ``run.json`` (the configuration, `runner`); ``scores.jsonl``, ``f1.jsonl`` and ``costs.json``
  are what `simulation.inputs` reads, so ``poq simulate RUN_DIR`` works on a finished run.
- Per-item work is appended as it is produced and skipped when present, so a killed run resumes.
- Torch uses POQ_TORCH_THREADS threads (default 1; set 2 on a quiet 2-core machine).

Expected duration of the full run (200 SQuAD + 200 CNN/DM, the three installed generators, the
three installed evaluators, local judge qwen2.5-coder-0.5b on 30 samples per task and model), from
per-item timings measured on the shared 2-core CPU (load average ~4, POQ_TORCH_THREADS=1, batch 4,
greedy, summaries <= 128 new tokens; the process got about half a core):

- smollm2-135m: QA 3.4 s, summary 16.5 s per answer → ~66 min for 200 + 200 records;
- gemma3-270m (stops at its first newline): QA 3.2 s, summary 8.6 s → ~39 min;
- qwen2.5-coder-0.5b: QA 11.8 s, summary 68.5 s → ~4.5 h;
  (QA at batch 4; summaries, ~1,000-token prompts, at batch 2 in that measurement)
- evaluator scores: 1,200 answers x 3 evaluators, 15-60 pairs/s under load → ~5 min;
- judge: 180 prompts (~500 tokens, 64 new) on qwen2.5-coder-0.5b at ~25 s each → ~75 min
  (smollm2-135m as judge: ~7 s each);
- efficiency: 3 warm-ups + 20 prompts at batch 1 per generator → ~20 min;
- total ≈ 8 h on the busy machine; about 3 h on an idle one with POQ_TORCH_THREADS=2; minutes on
  one GPU. Lower ``--max-new-tokens`` / ``--n-cnndm`` to shorten it: summaries dominate.
  The heavy qwen2.5-coder-1.5b, when installed, answers ``--heavy-subset`` records per task on
  CPU (about 3x the 0.5b's time per item).
"""

from simulation.pipeline.config import STAGES, PipelineConfig
from simulation.pipeline.runner import Backends, RunSummary, run_pipeline, run_status

__all__ = ["STAGES", "Backends", "PipelineConfig", "RunSummary", "run_pipeline", "run_status"]
