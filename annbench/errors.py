"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input or a request that cannot be met; the message is shown to the user as is."""
