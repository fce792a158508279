"""Exporting a checkpoint to a deployable, verified bundle.

    from infir_edge.export import export
    export("default", format="gguf", quant="q8_0", out="bundles/smollm2-q8_0")

One module per format (`gguf.py`, `onnx.py`, `executorch.py`) behind `export()`; `parity.py` measures
the bundle against its fp32 source, and the result is written into the bundle's manifest.

An InfiR-VL checkpoint exports its language model through the format's module like any Llama, and its vision
tower + projector through the format's vision writer (VISION_WRITERS); the manifest's `vision` entry names the
projector file, and verification measures the image path too (`verification["vision"]`).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from pathlib import Path

from infir_edge.errors import InvalidRequestError, VerificationError
from infir_edge.files import atomic_directory, atomic_write_text, check_output
from infir_edge.models.bundle import Manifest, describe_files, read_manifest

# format -> its module; each has QUANTS, MODEL_FILE, BUNDLE_FORMAT, RECIPE (raised whenever the same source
# would export differently, so cached bundles are made again) and write(source, bundle, quant, n_ctx, *, awq)
EXPORTERS = {
    "gguf": "infir_edge.export.gguf",
    "onnx": "infir_edge.export.onnx",
    "executorch": "infir_edge.export.executorch",
}
# format -> the module whose write_vision(source, bundle, quant, n_ctx, *, awq) -> (report, manifest vision entry)
# writes the vision tower + projector of an InfiR-VL source (and the LM too where WRITES_LANGUAGE_MODEL)
VISION_WRITERS = {
    "gguf": "infir_edge.export.mmproj",
    "onnx": "infir_edge.export.onnx_vl",
    "executorch": "infir_edge.export.executorch_vl",
}
VERIFY_CONTEXT = 512  # the verification prompts are short; a small context keeps the check light


def exporter_module(fmt: str):
    """The module that exports `fmt` (its QUANTS, RECIPE, write, ...); InvalidRequestError if unknown."""
    if fmt not in EXPORTERS:
        raise InvalidRequestError(f"unknown export format '{fmt}' (available: {', '.join(EXPORTERS)})")
    return importlib.import_module(EXPORTERS[fmt])


@contextmanager
def _step(description: str):
    from rich.console import Console

    with Console(stderr=True).status(description):
        yield


def vision_writer(fmt: str):
    """The module that writes `fmt`'s vision part of an InfiR-VL source; InvalidRequestError if there is none."""
    if fmt not in VISION_WRITERS:
        raise InvalidRequestError(f"the {fmt} format cannot export an InfiR-VL model's vision tower yet "
                                  f"(available: {', '.join(VISION_WRITERS)})")
    return importlib.import_module(VISION_WRITERS[fmt])


def _engines(source, model_path: Path, n_ctx: int, threads: int | None):
    from infir_edge.models.sources import resolve_model
    from infir_edge.runtime.loader import DEFAULT_BACKEND, load
    from infir_edge.runtime.pytorch import TorchEngine

    context = min(n_ctx, VERIFY_CONTEXT)
    if source.is_vl:  # the LLaVA model answers text prompts as its LM does, and takes the images
        from infir_edge.runtime.pytorch_vl import TorchVLEngine

        config = source.vl_model.config
        context = min(n_ctx, VERIFY_CONTEXT + int(config.image_seq_length))
        reference = TorchVLEngine.from_model(source.vl_model, source.tokenizer, path=source.path, n_ctx=context,
                                             threads=threads)
    else:
        reference = TorchEngine.from_model(source.model, source.tokenizer, path=source.path, n_ctx=context,
                                           threads=threads)
    # Parity compares fresh prefills: the greedy prompt is a prefix of the teacher-forced one, and llama.cpp's
    # prefix reuse would hand it a cache built one token at a time, which rounds differently.
    exact = {"prefix_cache": False} if DEFAULT_BACKEND[resolve_model(model_path).format] == "llamacpp" else {}
    return reference, load(model_path, n_ctx=context, threads=threads, **exact)


def _compare(reference, candidate, quant: str, with_vision: bool) -> dict:
    from infir_edge.export.parity import compare, compare_vision

    verification = compare(reference, candidate, quant).as_dict()
    if with_vision:
        if not candidate.supports_images:
            raise VerificationError(f"the exported {candidate.backend_name} model does not take images")
        verification["vision"] = compare_vision(reference, candidate, quant)
        verification["passed"] = verification["passed"] and verification["vision"]["passed"]
    return verification


def export(
    source: str | Path,
    *,
    format: str,
    quant: str,
    out: str | Path,
    overwrite: bool = False,
    max_context: int | None = None,
    force: bool = False,
    threads: int | None = None,
    awq: bool = True,
) -> Path:
    """Export `source` ("default", a checkpoint directory or a .gguf) to the bundle directory `out`.

    `awq=False` skips the AWQ scale search before low-bit quantization (faster; worse agreement on a trained
    model, the same speed: what a random-weight model for a speed measurement needs).

    The bundle is verified against the source before it is published; below its quantization's floor the
    export fails with `VerificationError` (and leaves nothing behind) unless `force`.
    """
    from infir_edge import __version__
    from infir_edge.export.source import load_export_source, source_config
    from infir_edge.models.families import check_exportable, trained_context

    exporter = exporter_module(format)
    if quant not in exporter.QUANTS:
        raise InvalidRequestError(f"--quant for {format} must be one of {', '.join(exporter.QUANTS)}, got {quant!r}")
    check_output(out, overwrite=overwrite)
    check_exportable(source_config(source), format)  # a family the format's toolchain lacks: refused before any work
    with _step(f"loading {source}"):
        src = load_export_source(source)
    vision_module = vision_writer(format) if src.is_vl else None
    n_ctx_train = trained_context(src.model.config)
    default_context = min(n_ctx_train, getattr(exporter, "DEFAULT_CONTEXT", n_ctx_train))  # ExecuTorch: a phone's
    n_ctx = default_context if max_context is None else max_context
    if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or not 8 <= n_ctx <= n_ctx_train:
        raise InvalidRequestError(f"max_context must be from 8 to the model's {n_ctx_train}, got {max_context!r}")

    with atomic_directory(out, overwrite=overwrite) as tmp:
        model_file = tmp / exporter.MODEL_FILE
        vision = {}
        if vision_module is not None and vision_module.WRITES_LANGUAGE_MODEL:
            # the format's LM takes image embeddings, not token ids: its vision writer exports the LM too
            with _step(f"writing {format} {quant} with the vision tower"):
                report, vision = vision_module.write_vision(src, tmp, quant, n_ctx, awq=awq)
        else:
            with _step(f"writing {format} {quant}"):
                report = exporter.write(src, tmp, quant, n_ctx, awq=awq)
            if vision_module is not None:
                with _step(f"writing the {format} vision tower"):
                    report["vision"], vision = vision_module.write_vision(src, tmp, quant, n_ctx, awq=awq)
        report["n_params"] = sum(p.numel() for p in (src.vl_model or src.model).parameters())
        manifest = Manifest(
            format=exporter.BUNDLE_FORMAT,
            quantization=quant,
            model_file=model_file.name,
            context_length=n_ctx,
            source={"path": str(src.path), "format": src.format, "sha256": src.sha256},
            files=describe_files(tmp),
            export_settings={"format": format, "quant": quant, "max_context": max_context, "force": force,
                             "recipe": exporter.RECIPE, "awq": awq, "family": src.family.name},
            export_report=report,
            vision=vision,
            sdk_version=__version__,
        )
        if vision:  # provisional, unverified: the runtime finds the projector through the manifest beside the model
            atomic_write_text(tmp / "manifest.json", manifest.to_json())
        with _step("verifying against the fp32 source"):
            reference, candidate = _engines(src, model_file, n_ctx, threads)
            with reference, candidate:
                verification = _compare(reference, candidate, quant, with_vision=bool(vision))
        verification["forced"] = bool(force and not verification["passed"])
        manifest.verification = verification
        if not verification["passed"] and not force:
            raise VerificationError(_failure(verification, quant))
        atomic_write_text(tmp / "manifest.json", manifest.to_json())
    return Path(out)


def _failure(v: dict, quant: str) -> str:
    vision = v.get("vision")
    images = (f"; on images: embedding cosine {vision['min_cosine']:.4f} (floor {vision['cosine_floor']:.2f}), "
              f"top-1 agreement {vision['top1_agreement']:.3f}") if vision else ""
    return (
        f"the {quant} export does not match its source closely enough: top-1 agreement {v['top1_agreement']:.3f} "
        f"(floor {v['floor']:.2f}), tokenizer agreement {v['tokenizer_agreement']:.2f}, mean KL {v['mean_kl']:.4f}"
        f"{images}; nothing was written (pass --force to keep it anyway)"
    )


def verify(bundle: str | Path, *, threads: int | None = None) -> dict:
    """Re-run the export verification of `bundle` against its recorded source; return the figures."""
    from infir_edge.export.source import load_export_source

    bundle = Path(bundle)
    manifest = read_manifest(bundle, check_hashes=True)
    with _step(f"loading the source {manifest.source['path']}"):
        src = load_export_source(manifest.source["path"])
    if src.sha256 != manifest.source.get("sha256"):
        raise VerificationError(f"the source {src.path} has changed since this bundle was exported (sha256 differs)")
    with _step("verifying against the fp32 source"):
        reference, candidate = _engines(src, bundle, manifest.context_length, threads)
        with reference, candidate:
            return _compare(reference, candidate, manifest.quantization, with_vision=bool(manifest.vision))
