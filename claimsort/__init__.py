"""claimsort: sort every segment of a news article into official_claim,
reported_statement, editorial_skepticism or boilerplate."""

from claimsort.labels import ID2LABEL, LABEL2ID, LABELS

__version__ = "0.1.0"
__all__ = ["LABELS", "LABEL2ID", "ID2LABEL", "__version__"]
