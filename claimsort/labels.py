"""The label scheme (../shared/LABELS.md): four labels, in id order."""

LABELS = ("official_claim", "reported_statement", "editorial_skepticism", "boilerplate")
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))
