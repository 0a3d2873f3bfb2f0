"""Fleets: fund keys, start one process per agent, drive tasks to finalization, report."""
