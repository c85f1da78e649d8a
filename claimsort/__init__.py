"""claimsort: sort every segment of a news article into official_claim,
reported_statement, editorial_skepticism or boilerplate."""

from claimsort.labels import ID2LABEL, LABEL2ID, LABELS

__version__ = "0.1.0"

# The document model is a Hugging Face model type of its own: importing claimsort
# registers it with AutoConfig / AutoModel and its pipeline with transformers.
from claimsort.modeling.document import register as _register_model  # noqa: E402
from claimsort.pipeline import register as _register_pipeline  # noqa: E402

_register_model()
_register_pipeline()
__all__ = ["LABELS", "LABEL2ID", "ID2LABEL", "__version__"]
