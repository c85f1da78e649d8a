"""The label scheme (../shared/LABELS.md): four labels, in id order."""

LABELS = ("official_claim", "reported_statement", "editorial_skepticism", "boilerplate")
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))
# the probability columns of every output row, in label-id order
PROBA_KEYS = [f"p_{label}" for label in LABELS]
