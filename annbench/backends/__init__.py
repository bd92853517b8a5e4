"""Index backends: one small file each, behind the interface in :mod:`annbench.backends.base`."""
