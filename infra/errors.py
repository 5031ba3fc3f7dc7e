"""Errors that are the user's to fix: shown as one clear message, never as a traceback."""


class UserError(Exception):
    """A mistake in input (config, flags, files) that the user can correct.

    The message must name what was wrong (config key or flag), what was received and what is
    expected.
    """


class ConfigError(UserError):
    """A stack configuration value is missing or invalid."""

    def __init__(self, key: str, received: object, expected: str):
        self.key = key
        self.received = received
        self.expected = expected
        super().__init__(f"config key '{key}': received {received!r}; expected {expected}")
