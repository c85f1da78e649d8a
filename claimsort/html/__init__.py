"""HTML pages: the page-structure model (markup features, the model, its combination)."""
