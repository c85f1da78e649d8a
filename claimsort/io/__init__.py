"""Reading and writing: the one error type, files, arrays, (later) inputs and tables."""
