# The two commands of the README. Each bootstraps what it needs (idempotent) and then runs.
.PHONY: demo test test-hardhat lint bootstrap bench

# The chain-facing subset that `make test` runs a second time against Hardhat's node (docs/evm-clients.md);
# the model-driven agent tests are left to the anvil pass (they are minutes of model time, not chain time).
HARDHAT_TESTS = tests/integration/test_localchain.py tests/integration/test_anvil_round.py \
	tests/integration/test_deploy.py tests/integration/test_fleet_replay.py tests/cli/test_cli.py
HARDHAT_PYTEST = .venv/bin/python -m pytest -q --evm hardhat -m "anvil and not models" $(HARDHAT_TESTS)

demo: bootstrap
	.venv/bin/poq demo

test: bootstrap
	@.venv/bin/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; fi; exit $$rc
	@echo "make test: the chain-facing tests again, against Hardhat's node (--evm hardhat)"
	@$(HARDHAT_PYTEST)

test-hardhat: bootstrap
	@$(HARDHAT_PYTEST)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy poq offchain deploy simulation
	.venv/bin/lint-imports

bench: bootstrap
	.venv/bin/python bench/gas.py

bootstrap:
	@scripts/bootstrap.sh
