"""The `vl` policy: a vision-language model reads the screenshot (and, if asked, the element list) and answers with
one JSON action, coordinates in 0..1000, through any `infir_edge` Engine that takes images.

The prompt is `vl_prompt`'s, the one the VL training data uses. Like every policy it returns the raw reply: the
agent parses and validates it, and a malformed one is retried with its reason shown to the model.
"""

from __future__ import annotations

from android_agent.action_schema import screen_schema
from android_agent.errors import AgentError
from android_agent.observation import Observation, describe_elements
from android_agent.policy import PolicyContext
from android_agent.vl_prompt import VL_MAX_HISTORY, vl_messages, vl_prompt_text
from infir_edge.errors import ContextOverflowError


def check_vl_engine(engine) -> None:
    """Refuse an engine that takes no images (a text-only model) before anything runs."""
    if not getattr(engine, "supports_images", False):
        name = getattr(engine, "backend_name", type(engine).__name__)
        raise AgentError(f"the vl policy needs a vision-language model, and this one ({name} backend) takes no "
                         "images: load an InfiR-VL checkpoint or bundle, or use --policy model")


class VLPolicy:
    """Screenshot (+ optionally the element list) -> one JSON action; greedy, decoded under the action schema.

    The history shows the executed actions (not rejected or denied replies), the last `max_history` of them; when
    the prompt does not fit the context, the history and then the element list are cut.
    """

    name = "vl"

    def __init__(self, engine, *, max_new_tokens: int = 48, with_elements: bool = False,
                 max_history: int = VL_MAX_HISTORY, max_elements: int = 40) -> None:
        check_vl_engine(engine)
        self.engine = engine
        self.max_new_tokens = max_new_tokens
        self.with_elements = with_elements
        self.max_history = max_history
        self.max_elements = max_elements

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        if observation.screenshot is None:
            raise AgentError("the vl policy needs screenshots (AgentConfig.screenshots)")
        max_history, max_elements = self.max_history, self.max_elements
        schema = screen_schema(observation, context.apps)
        while True:
            messages = self.messages(context, observation, max_history=max_history, max_elements=max_elements)
            try:
                generation = self.engine.generate(messages, max_new_tokens=self.max_new_tokens, temperature=0.0,
                                                  json_schema=schema)
            except ContextOverflowError as e:
                if max_history > 0:
                    max_history //= 2
                elif self.with_elements and max_elements > 5:
                    max_elements = max(5, max_elements // 2)
                else:
                    raise AgentError(f"the model's context cannot hold the screenshot and the task: {e}") from e
                continue
            return generation.text  # cut short by max_new_tokens: the agent rejects it as not closed

    def messages(self, context: PolicyContext, observation: Observation, *, max_history: int | None = None,
                 max_elements: int | None = None) -> list[dict]:
        history = [turn.action for turn in context.history if turn.action is not None and turn.outcome == "done"]
        elements = None
        if self.with_elements:
            elements = describe_elements(observation.elements, observation.size,
                                         max_elements=self.max_elements if max_elements is None else max_elements)
        text = vl_prompt_text(context.instruction, history, elements,
                              max_history=self.max_history if max_history is None else max_history,
                              feedback=context.feedback)
        return vl_messages(observation.screenshot, text)
