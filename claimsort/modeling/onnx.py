"""ONNX Runtime backend shared by both transformer families: export (fp32, or
fused and int8-quantized), a cached file per weights, one CPU session builder and
the threaded batch map.

Export is torch.onnx.export, fusion onnxruntime's transformer optimizer and int8
onnxruntime's dynamic quantizer: the tools optimum-onnx itself wraps
(ORTOptimizer, ORTQuantizer). optimum-onnx is not used because it cannot be
installed beside this project's transformers: its newest release (0.1.0) requires
transformers < 4.58, and claimsort runs on transformers 5."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def cpu_session(path: Path):
    """An ONNX Runtime CPU session for `path`: (session, its input names, workers).

    One thread per batch and as many batches at once as threads: on small inputs
    (a sentence is ~25 tokens) this beat splitting each operator across threads
    (2 cores, int8: ~750 against ~705 segments/s, best batch size of each)."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, {i.name for i in session.get_inputs()}, max(1, torch.get_num_threads())


def map_in_threads(forward, starts, workers: int):
    """forward over the batch starts on `workers` threads (ONNX Runtime releases the
    GIL), results in order."""
    if workers == 1:
        return map(forward, starts)
    from concurrent.futures import ThreadPoolExecutor

    def ordered():
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(forward, starts)
    return ordered()


# Model types whose graph onnxruntime's transformer optimizer knows how to fuse.
# All of them have BERT's layer pattern, the optimizer's model_type "bert".
_FUSABLE = {"bert", "roberta", "xlm-roberta", "electra", "distilbert"}


def onnx_file(model, tokenizer, folder: Path, int8: bool, model_type: str | None = None,
              encoder_config: dict | None = None, output_name: str = "logits") -> Path:
    """Path of the ONNX file (fp32, or fused int8) of `model`, exporting it when not cached.

    `model` is a sequence classifier (output: logits) or a segment encoder
    (claimsort.modeling.document.SegmentEncoder, output_name "vectors"); model_type and
    encoder_config describe its transformer for the graph fusion."""
    import hashlib
    import logging
    import os
    import tempfile

    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    digest = hashlib.sha256()
    for w in weights:
        digest.update(w.read_bytes())
    name = f"{output_name}-{'int8' if int8 else 'fp32'}-{digest.hexdigest()[:16]}.onnx"
    cache = folder / "onnx"
    try:
        cache.mkdir(exist_ok=True)
        probe = cache / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        cache = Path(tempfile.gettempdir()) / "claimsort-onnx"
        cache.mkdir(exist_ok=True)
    target = cache / name
    if target.is_file():
        return target
    logging.getLogger(__name__).warning("exporting %s to ONNX (%s): %s (once)", folder,
                                        "fused, int8" if int8 else "fp32", target)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        built = export_onnx(model, tokenizer, Path(tmp), int8, model_type, encoder_config, output_name)
        os.replace(built, target)  # atomic: a killed export leaves no half-written model
    return target


def export_onnx(model, tokenizer, folder: Path, int8: bool, model_type: str | None = None,
                encoder_config: dict | None = None, output_name: str = "logits") -> Path:
    """Export `model` to folder/model.onnx (returned when not int8); for int8, fuse it
    and quantize its weights, and return folder/model.int8.onnx."""
    import logging
    import warnings

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = tokenizer(["An example segment.", "Another one, a little longer than the first."],
                       padding=True, return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]

    class OneOutput(torch.nn.Module):  # positional inputs in, one tensor out: what the exporter wants
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            out = self.inner(**dict(zip(names, args)))
            return out.logits if output_name == "logits" else out

    if model_type is None:
        model_type = getattr(model.config, "model_type", "")
        encoder_config = model.config.to_dict()
    encoder_config = encoder_config or {}
    # The optimizer recognises the attention pattern of the eager implementation only.
    inner = model.encoder if output_name != "logits" else model
    if hasattr(inner, "set_attn_implementation"):
        inner.set_attn_implementation("eager")
    fp32 = folder / "model.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[output_name] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes; the axes above are declared dynamic
        torch.onnx.export(OneOutput(model.eval()), tuple(sample[n] for n in names), str(fp32),
                          input_names=names, output_names=[output_name], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    if not int8:
        return fp32
    source = fp32
    if model_type in _FUSABLE:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            fused = optimize_model(str(fp32), model_type="bert",
                                   num_heads=encoder_config.get("num_attention_heads", 0),
                                   hidden_size=encoder_config.get("hidden_size", 0))
            source = folder / "model.fused.onnx"
            fused.save_model_to_file(str(source))
        except Exception as e:  # fusion is a speed-up only: the plain graph is still correct
            logging.getLogger(__name__).warning("ONNX fusion skipped (%s: %s)", type(e).__name__, e)
            source = fp32
    quantized = folder / "model.int8.onnx"
    # Fused ops (onnxruntime's own domain) defeat shape inference: say the default type.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice about pre-processing on the root logger
    try:
        quantize_dynamic(str(source), str(quantized), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    return quantized


def pad_with(tokenizer, encoded: dict[str, list[list[int]]]) -> dict[str, np.ndarray]:
    """Token rows padded to the longest by the tokenizer itself (tokenizer.pad: its pad
    token and side), with the attention mask, as int64 arrays (what the exported ONNX
    graph and torch both take)."""
    batch = tokenizer.pad(dict(encoded), padding=True, return_tensors="np")
    return {k: np.asarray(v, dtype=np.int64) for k, v in batch.items()}
