"""poq off-chain package: protocol math, chain client, models, agents, data, metrics, CLI."""

__version__ = "0.1.0"
