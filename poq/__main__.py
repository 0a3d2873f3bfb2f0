"""`python -m poq` = `poq`."""

from poq.cli import main

main()
