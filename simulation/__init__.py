"""The paper's evaluation pipeline and Monte Carlo simulation of PoQ rewards."""
