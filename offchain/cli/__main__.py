"""`python -m offchain.cli` = `poq` (used to start agent processes with the same interpreter)."""

from offchain.cli import main

main()
