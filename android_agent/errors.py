"""The agent's exceptions: all are `InfirEdgeError`s, so the CLIs turn them into one line and exit code 2."""

from __future__ import annotations

from infir_edge.errors import InfirEdgeError


class AgentError(InfirEdgeError):
    """Base class of everything the agent, its devices and its tasks refuse."""


class MalformedActionError(AgentError, ValueError):
    """A model's action is not valid JSON, not in the schema, or out of range; `reason` is fed back to the policy."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"malformed action: {reason}")


class DeviceError(AgentError, RuntimeError):
    """The device could not be reached or did not do what was asked (after the known retries)."""


class PhoneError(AgentError, ValueError):
    """A request the simulated phone cannot satisfy: an unknown package, a bad key, malformed state."""


class TaskError(AgentError, ValueError):
    """An unknown task name or a task whose set-up or check could not run."""
