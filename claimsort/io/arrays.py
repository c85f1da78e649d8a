"""Numeric arrays on disk (.npz) written atomically and read without pickle: how the
scikit-learn parts of a model folder are stored."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from claimsort.io.errors import InputError
from claimsort.io.files import write_atomic

DAMAGED = "the model folder is damaged or incomplete: copy it again, or retrain it with train.py"


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays as .npz, written under a temporary name and renamed (a kill leaves no
    half-written file); numeric arrays only, so that it loads without pickle."""
    write_atomic(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}), binary=True)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, never unpickled (allow_pickle=False); a missing or
    damaged file is a InputError naming it."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise InputError(f"{path}: missing; {DAMAGED}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: unreadable ({type(e).__name__}: {str(e)[:200]}); {DAMAGED}") from None


