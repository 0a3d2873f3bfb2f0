# The two commands of the README. Each bootstraps what it needs (idempotent) and then runs.
.PHONY: demo test lint bootstrap bench

demo: bootstrap
	.venv/bin/poq demo

test: bootstrap
	@.venv/bin/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; fi; exit $$rc

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy poq offchain deploy simulation
	.venv/bin/lint-imports

bench: bootstrap
	.venv/bin/python bench/gas.py

bootstrap:
	@scripts/bootstrap.sh
