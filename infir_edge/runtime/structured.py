"""Structured output: a JSON schema, a regex or a Lark grammar enforced token by token.

llguidance compiles the constraint against the model's own vocabulary and, before each token, says which tokens
may come next; the SDK masks the rest of the logits to -inf and its sampler stays in charge (greedy, top-p, a seed
mean what they mean without a constraint). The mask is a numpy bitmask (~50 us a token for JSON), so no torch is
needed, and because masking happens on the logits every backend honours it the same way.

Generation ends "on its own" when the model picks an end-of-generation token, which the mask allows only once the
text is complete, or when the grammar admits nothing more; then the text always satisfies the constraint. A stop
string or `max_new_tokens` can still cut it short (finish_reason "stop" / "length"), as in OpenAI's API.
"""

from __future__ import annotations

import json
import weakref

import numpy as np

from infir_edge.errors import BackendError, InvalidRequestError

# one tokenizer per engine (building it reads the whole vocabulary: ~1 s); dropped with the engine
_tokenizers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _VocabularyView:
    """What `llguidance.TokenizerWrapper` reads from a tokenizer, taken from an Engine's own vocabulary: the
    bytes of every token (special ones prefixed with 0xFF, llguidance's mark for "never part of text") and a
    tokenize function (the Engine's, which the caller holds exclusively)."""

    def __init__(self, engine) -> None:
        special = engine._special_token_ids()
        self.tokens = [(b"\xff" if i in special else b"") + engine._token_bytes(i) for i in range(engine.n_vocab)]
        self.special_token_ids = sorted(special)
        eog = sorted(engine.eog_token_ids)
        self.eos_token_id = eog[0] if eog else None
        self.bos_token_id = None
        # weak: the cache's value must not keep its key (the engine) alive
        self._engine = weakref.ref(engine)

    def __call__(self, text) -> list[int]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return self._engine()._tokenize(text, False)


def tokenizer_for(engine):
    """llguidance's tokenizer for this engine's vocabulary (built once per engine)."""
    tokenizer = _tokenizers.get(engine)
    if tokenizer is None:
        import llguidance

        view = _VocabularyView(engine)
        tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(view), n_vocab=engine.n_vocab,
                                           eos_token=sorted(engine.eog_token_ids) or None)
        _tokenizers[engine] = tokenizer
    return tokenizer


def grammar_of(json_schema=None, regex: str | None = None, grammar: str | None = None) -> str:
    """The llguidance grammar for one constraint (exactly one argument is set)."""
    from llguidance import LLMatcher as matcher
    if json_schema is not None:
        try:
            # no whitespace between tokens: it costs tokens, and a small model can loop on newlines forever
            return matcher.grammar_from_json_schema(json_schema, defaults={"whitespace_flexible": False,
                                                                           "item_separator": ", ",
                                                                           "key_separator": ": "})
        except ValueError as e:
            raise InvalidRequestError(f"invalid json_schema: {e}") from None
    if regex is not None:
        return matcher.grammar_from_regex(regex)
    return matcher.grammar_from_lark(grammar)


class OutputConstraint:
    """One generation's constraint: `mask` the logits before sampling, `advance` with the chosen token."""

    def __init__(self, engine, grammar: str) -> None:
        import llguidance

        tokenizer = tokenizer_for(engine)
        error = llguidance.LLMatcher.validate_grammar(grammar, tokenizer)
        if error and not error.startswith("WARNING"):
            raise InvalidRequestError(f"the output constraint cannot be compiled: {error}")
        self.matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
        if self.matcher.is_error():
            raise InvalidRequestError(f"the output constraint cannot be compiled: {self.matcher.get_error()}")
        self.n_vocab = engine.n_vocab

    def allowed(self) -> np.ndarray:
        """Which tokens may come next, `[V]` bool."""
        bits = np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8)  # 32-bit words, little-endian
        allowed = np.unpackbits(bits, bitorder="little")[: self.n_vocab].astype(bool)
        if not allowed.any():
            raise BackendError(f"the output constraint admits no token: {self.matcher.get_error() or 'dead end'}")
        return allowed

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """A copy of `logits` `[V]` with every token the constraint forbids at -inf."""
        logits = np.asarray(logits[: self.n_vocab], dtype=np.float32)
        return np.where(self.allowed(), logits, np.float32(-np.inf))

    def advance(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise BackendError(f"the output constraint refused token {token}: {self.matcher.get_error()}")

    @property
    def complete(self) -> bool:
        """Nothing more can follow: the text is finished."""
        return self.matcher.is_stopped()


def constraint_for(engine, config) -> OutputConstraint | None:
    """The constraint a GenerationConfig asks for, compiled for `engine` (None when it asks for none)."""
    if config.json_schema is None and config.regex is None and config.grammar is None:
        return None
    return OutputConstraint(engine, grammar_of(config.json_schema, config.regex, config.grammar))


def parse_schema(schema) -> dict | bool:
    """A JSON schema given as a dict, a bool or its JSON text -> the parsed schema (InvalidRequestError if not)."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as e:
            raise InvalidRequestError(f"invalid generation config: json_schema is not valid JSON: {e}") from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidRequestError("invalid generation config: json_schema must be a JSON schema (an object), "
                                  f"not {type(schema).__name__}")
    return schema
