"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input or a request that cannot be met; the message is shown to the user as is."""


class Unsupported(UserError):
    """The engine cannot run this setting (Milvus Lite builds no IVF_PQ): its points are to be recorded
    as skipped, with the engine's reason, rather than measured on something else."""
