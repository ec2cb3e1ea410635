"""Typed errors a user can cause. The Slack layer turns each into a friendly sentence."""


class DecisionBotError(Exception):
    """Base class: ``str(error)`` is a sentence fit to show the user."""


class NotFound(DecisionBotError):
    """The thing asked for does not exist in this workspace (or is not visible to the user)."""


class NotAllowed(DecisionBotError):
    """The user may not do this (e.g. only the author and deciders change a decision)."""


class InvalidInput(DecisionBotError):
    """The input cannot be used; the message says what to type instead."""


class Conflict(DecisionBotError):
    """The change clashes with the current state (e.g. accepting a blocked decision)."""
