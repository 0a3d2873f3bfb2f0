"""Talking to the chain: manifests, contract handles, signing, revert decoding, log polling."""
