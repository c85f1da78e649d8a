"""Text: segmentation and text overlap."""
