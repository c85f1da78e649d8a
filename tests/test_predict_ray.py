"""predict.py --engine ray (claimsort/batch_ray.py) on a local Ray cluster of two
worker processes on this machine (no dashboard; Ray binds its daemons to this
machine's own address, never contacting another): the same rows, labels,
probabilities (to 1e-5) and order as predict.py in one process, on a mixed folder
with bad files; the same when a classifier actor dies mid-run; a rerun after an
interruption redoes only the unfinished input files."""
import gzip
import json

import pytest
import ray
from conftest import ROOT, read_jsonl

from claimsort import batch_ray
from claimsort.batch import predict
from claimsort.modeling.loading import load_classifier

# One worker runs them all under `pytest -n` (make test): one local Ray cluster at a time.
pytestmark = [pytest.mark.ray, pytest.mark.xdist_group("ray")]

HTML = ("<html><body><nav>Home | World</nav><h1>Minister denies report</h1><p>The minister said the report was "
        "false. Critics disagreed with him.</p><footer>Share this article</footer></body></html>")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Text, Markdown, HTML (one gzipped), JSONL article records and a segment table,
    CSV and Parquet; an undecodable text file, an empty Markdown file, a bad JSON line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("ray-in") / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(7):
        (folder / f"doc{i}.txt").write_text(f"Headline number {i}\nBy Staff\nThe ministry said {i} roads were "
                                            "open. Critics doubted it.\nShare this article\n")
    (folder / "sub/update.md").write_text("# Update\n\nThe council announced a new timetable. Residents said "
                                          "it came too late.\n")
    (folder / "page.html").write_text(HTML)
    (folder / "sub/page2.html.gz").write_bytes(gzip.compress(HTML.replace("Minister", "Mayor").encode()))
    (folder / "records.jsonl").write_text(
        '{"id": "r1", "text": "Police said the road was clear by noon. Residents doubted it.", "outlet": "x"}\n'
        '{bad json\n'
        '{"id": "r2", "text": "The agency reported growth of two percent.", "outlet": "y"}\n')
    (folder / "segments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"doc_id": "s1", "sent_id": 0, "text": "Officials said the bridge is safe.", "label": "official_claim"},
        {"doc_id": "s1", "sent_id": 1, "text": "Engineers are not so sure.", "label": "editorial_skepticism"},
        {"doc_id": "s2", "sent_id": 0, "text": "Subscribe to our newsletter.", "label": "boilerplate"}]))
    (folder / "table.csv").write_text('doc_id,text\nc1,"The mayor said taxes would fall."\n'
                                      'c2,"Opponents called the plan a fantasy."\n')
    pq.write_table(pa.table({"doc_id": ["q1", "q2"], "text": ["The court ruled on Monday.", "   "]}),
                   folder / "table.parquet")
    (folder / "bad.txt").write_bytes(b"\xff\xfe not UTF-8\n")
    (folder / "empty.md").write_text("   \n")
    return folder


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """Two CPUs, so two classifier actors; the workers import this checkout's claimsort
    (PYTHONPATH through the runtime env, as batch_ray.connect sets it)."""
    armed = tmp_path_factory.mktemp("crash") / "crash-armed"
    runtime_env = batch_ray._runtime_env(None, 1)
    runtime_env["env_vars"][batch_ray.CRASH_ONCE_ENV] = str(armed)
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env, logging_level="WARNING")
    yield armed
    ray.shutdown()


@pytest.fixture(scope="module")
def single_process(smoke_model, inputs, tmp_path_factory):
    """predict.py's engine in this process: the reference output, and its issues."""
    out = tmp_path_factory.mktemp("single") / "single.jsonl"
    stats = predict([str(inputs)], load_classifier(smoke_model, backend="auto"), str(out), chunk_docs=4,
                    progress=False)
    return read_jsonl(out), sorted(map(str, stats.issues))


def assert_same_output(rows, expected):
    assert len(rows) == len(expected) > 20
    for got, want in zip(rows, expected):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if key.startswith("p_"):
                assert abs(got[key] - value) <= 1e-5 + 1e-9, (key, got, want)
            else:
                assert got[key] == value, (key, got, want)


def test_workers_import_this_checkout(ray_cluster):
    @ray.remote
    def where():
        import claimsort
        return claimsort.__file__

    assert ray.get(where.remote()).startswith(str(ROOT / "claimsort"))


def test_ray_engine_gives_the_single_process_output(ray_cluster, single_process, smoke_model, inputs, tmp_path):
    expected, issues = single_process
    out = tmp_path / "ray.jsonl"
    stats = batch_ray.predict_ray([str(inputs)], str(smoke_model), str(out), workers=2, chunk_docs=3,
                                  progress=False)
    assert_same_output(read_jsonl(out), expected)
    assert sorted(map(str, stats.issues)) == issues and len(issues) == 4  # bad.txt, empty.md, line 2, row 2
    assert stats.documents == len({(r["doc_id"], r["source_file"]) for r in expected})
    assert not (tmp_path / "ray.jsonl.parts").exists()
    folder = tmp_path / "dataset"  # --out FOLDER: a Parquet dataset, same rows in input order
    batch_ray.predict_ray([str(inputs)], str(smoke_model), str(folder), workers=2, chunk_docs=3, progress=False)
    import pyarrow.parquet as pq

    table = pq.read_table(sorted(folder.glob("part-*.parquet")))
    assert table.column("text").to_pylist() == [r["text"] for r in expected]


def test_a_killed_actor_is_replaced_and_the_output_is_the_same(ray_cluster, single_process, smoke_model, inputs,
                                                               tmp_path):
    armed = ray_cluster
    armed.write_text("")  # the first actor to take a batch exits at once (os._exit)
    out = tmp_path / "ray.jsonl"
    batch_ray.predict_ray([str(inputs)], str(smoke_model), str(out), workers=2, chunk_docs=2, progress=False)
    assert not armed.exists() and armed.with_name(armed.name + ".taken").read_text().isdigit()  # one died
    assert_same_output(read_jsonl(out), single_process[0])


def test_a_rerun_after_an_interruption_redoes_only_unfinished_files(ray_cluster, single_process, smoke_model, inputs,
                                                                    tmp_path, monkeypatch):
    out = tmp_path / "ray.jsonl"
    finish, finished = batch_ray._finish_file, []

    def interrupt_after_three(*args):
        if len(finished) == 3:
            raise KeyboardInterrupt  # as Ctrl-C, or a killed driver, after three input files
        finished.append(finish(*args))
        return finished[-1]

    monkeypatch.setattr(batch_ray, "_finish_file", interrupt_after_three)
    with pytest.raises(KeyboardInterrupt):
        batch_ray.predict_ray([str(inputs)], str(smoke_model), str(out), workers=2, chunk_docs=3, progress=False)
    assert not out.exists() and len(list((tmp_path / "ray.jsonl.parts").glob("f???????.json"))) == 3
    monkeypatch.setattr(batch_ray, "_finish_file", finish)
    stats = batch_ray.predict_ray([str(inputs)], str(smoke_model), str(out), workers=2, chunk_docs=3,
                                  progress=False)
    assert stats.skipped_chunks == 3  # three input files not read again
    assert_same_output(read_jsonl(out), single_process[0])



def test_strict_makes_a_bad_input_fatal(ray_cluster, smoke_model, inputs, tmp_path):
    from claimsort.io.errors import InputError

    first_bad = r"bad\.txt:1: not valid UTF-8|empty\.md: empty document|records\.jsonl:2|table\.parquet:2"
    with pytest.raises(InputError, match=first_bad):  # the first the driver receives, whichever file it is in
        batch_ray.predict_ray([str(inputs)], str(smoke_model), str(tmp_path / "ray.jsonl"), workers=2, strict=True,
                              progress=False)
    assert not (tmp_path / "ray.jsonl").exists()
