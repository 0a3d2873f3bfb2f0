"""Multi-dimensional quality scoring: dimensions per answer, their reliability audit, a calibrated
composite usable as PoQ's quality signal (offline in `poq simulate`, live as evaluator ``composite``)."""

from simulation.multidim.audit import MIN_RELIABILITY, audit_task, calibrated_weights, split_records
from simulation.multidim.dimensions import DIMENSIONS, dimension_table
from simulation.multidim.run import run_multidim

__all__ = ["DIMENSIONS", "MIN_RELIABILITY", "audit_task", "calibrated_weights", "dimension_table", "run_multidim",
           "split_records"]
