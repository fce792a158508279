"""The verification prompt set, and `verify` staying the function once the parity module is imported."""

from __future__ import annotations

from infir_edge.export.parity import PROMPTS


def test_one_verification_prompt_is_longer_than_256_tokens(torch_engine):
    # RoPE scaling changes the rotary frequencies with distance: a dropped scaling shows on long prompts
    assert max(len(torch_engine.tokenize(p)) for p in PROMPTS) > 256


def test_verify_is_the_function_after_export_has_run(tiny_checkpoint, tmp_path):
    import infir_edge.export as package
    from infir_edge.export import export

    bundle = export(tiny_checkpoint, format="gguf", quant="f32", out=tmp_path / "b", max_context=128)
    from infir_edge.export import verify  # importing the submodules must not rebind the name

    assert verify is package.verify and callable(verify)
    assert verify(bundle)["passed"]
