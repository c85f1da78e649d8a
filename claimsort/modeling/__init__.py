"""The models: the document model, the sentence-only and TF-IDF baselines, their ONNX backend, loading, and document classification."""
