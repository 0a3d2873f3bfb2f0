"""Compile, deploy and manage local chains for the PoQ contract."""
