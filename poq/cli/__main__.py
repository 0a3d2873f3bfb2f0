"""`python -m poq.cli` = `poq` (used to start agent processes with the same interpreter)."""

from poq.cli import main

main()
