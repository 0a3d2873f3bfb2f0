"""The poq application: the `poq` command line (`poq.cli`) and the agent fleet (`poq.fleet`).

It sits on top of the library: `offchain` (protocol math, chain client, models, agents, dashboard),
`deploy` (compiler, deployer, local chains) and `simulation` (the paper's pipeline and Monte Carlo).
Nothing below imports it.
"""
