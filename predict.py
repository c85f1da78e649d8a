"""Classify every segment of an article collection.

    python predict.py INPUT... --model models/default --out predictions.jsonl
        [--summary docs.csv] [--html pages/] [--fast int8] [--backend auto|torch|onnx] [--strict]

INPUT: files, folders (recursively) or globs of .txt, .md, .html/.htm (also
gzipped), .jsonl (segment tables or article records), .csv and .parquet with a
text column, or - for standard input. Output by extension: .jsonl, .csv or
.parquet, one row per segment (doc_id, sent_id, text, label, p_<label> for each
label, source_file). Streams in chunks of documents; an interrupted run
restarted with the same arguments resumes where it stopped, provided its input
files are unchanged (size and modification time; a changed one is refused, or
with --overwrite the run is redone). An existing output, or a non-empty --html
folder, is replaced only with --overwrite. Bad input is reported with its file
and line and skipped (--strict makes it fatal); when no document could be read at
all, nothing is written and the exit status is 2.

doc_id: a file's name without its suffix, or, when two inputs share one
(x/report.md, y/report.md), its path below the folder the inputs share. An
article record (.jsonl/.csv/.parquet) takes it from --id-column, else doc_id or
id; its text is Markdown or HTML when its `format` field says so (text,
markdown, html), else when its source field (source_file, source, path, file,
filename or url) ends in .md or .html, else when it sits in a `markdown` or
`html` column; its other columns are kept on each of its rows. Standard input is
HTML when it starts with an HTML tag, else plain text.
Several processes: accelerate launch predict.py ... (each process reads, segments
and classifies its own chunks; one merged ordered output). A Ray cluster:
--engine ray [--ray-address auto] [--ray-workers N] (claimsort/batch_ray.py; --out
may then also be a folder, written as a Parquet dataset).
"""
import sys

try:
    from claimsort.cli import fail_cleanly
    from claimsort.cli.predict import main
except ModuleNotFoundError as e:  # run by a Python outside the project's virtual environment
    print(f"error: {e.name} is not installed for {sys.executable}; run `.venv/bin/python predict.py ...` "
          "(`make install` creates .venv)", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
