"""Off-chain agents: inference nodes answer, evaluators commit and reveal scores, requesters drive tasks.

Each agent has one key and its own SQLite state, written before any transaction goes out, so an
agent killed at any moment resumes from its database and the chain without losing a commitment.
"""
