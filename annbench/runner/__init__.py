"""The sweep runner: build once per build point, then sweep search params x nq."""
