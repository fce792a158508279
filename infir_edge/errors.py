"""One exception hierarchy for everything the SDK refuses.

Every error a user can cause (a missing or damaged model, a prompt that does not fit, a backend that is
not installed, a malformed request) is an `InfirEdgeError`; the CLI turns each into one `error: ...`
line and exit code 2. Anything else escaping the SDK is a bug.
"""

from __future__ import annotations


class InfirEdgeError(Exception):
    """Base class of every error the SDK raises on purpose."""


class ModelNotFoundError(InfirEdgeError, FileNotFoundError):
    """The model path or name does not resolve to a file or directory."""


class ModelFormatError(InfirEdgeError, ValueError):
    """The model file exists but is not a valid model of a supported format (damaged, truncated, wrong type)."""


class BackendUnavailableError(InfirEdgeError, ImportError):
    """A backend's optional dependencies are not installed; the message names the pip extra."""

    def __init__(self, backend: str, extra: str, detail: str = "") -> None:
        self.backend = backend
        self.extra = extra
        hint = f"pip install 'infir-edge[{extra}]'"
        message = f"backend '{backend}' is not available: install it with {hint}"
        super().__init__(f"{message} ({detail})" if detail else message)


class ContextOverflowError(InfirEdgeError, ValueError):
    """The prompt plus the tokens to generate do not fit in the context window."""

    def __init__(self, prompt_tokens: int, max_new_tokens: int, n_ctx: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.max_new_tokens = max_new_tokens
        self.n_ctx = n_ctx
        super().__init__(
            f"prompt of {prompt_tokens} tokens + max_new_tokens {max_new_tokens} = "
            f"{prompt_tokens + max_new_tokens} tokens exceeds the context window of {n_ctx} tokens "
            "(shorten the prompt, lower max_new_tokens or load with a larger n_ctx)"
        )


class InvalidRequestError(InfirEdgeError, ValueError):
    """A request is malformed: bad generation settings, messages without role/content, an unknown option."""


class BackendError(InfirEdgeError, RuntimeError):
    """The runtime failed while running a model it had accepted (out of memory, a failed evaluation)."""


class VerificationError(InfirEdgeError):
    """An exported model does not compute what its source computes closely enough (below its floor)."""
