"""The ``clustering-metrics`` command line, checked against scikit-learn's mutual_info_score."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import sklearn.metrics as sklearn_metrics
from sklearn.metrics import mutual_info_score as sklearn_mutual_info_score

import clustering_metrics
from clustering_metrics import cli

RNG = np.random.default_rng(7)
PREDS = RNG.integers(0, 6, size=300)
TARGET = RNG.integers(-2, 5, size=300)  # negative labels are labels too
EXPECTED = sklearn_mutual_info_score(TARGET, PREDS)


def write_labels(directory, name, labels, header=None):
    """Write ``labels`` in the format named by the extension of ``name``; returns the path."""
    path = directory / name
    extension = path.suffix
    if extension == ".npy":
        np.save(path, np.asarray(labels))
    elif extension == ".pt":
        torch.save(torch.as_tensor(labels), path)
    else:
        lines = ([header] if header else []) + [str(int(label)) for label in labels]
        path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_text(directory, name, text):
    """Write ``text`` verbatim to ``name``; returns the path."""
    (directory / name).write_text(text)
    return str(directory / name)


def run_cli(argv, capsys):
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, out, err, phrase):
    assert status == cli.EXIT_INPUT_ERROR
    assert out == ""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("clustering-metrics: error: ")
    assert phrase in err


def cli_subprocess(*args):
    # The subprocess must import the same clustering_metrics as this test
    # process (the source tree or an installed wheel), whatever its cwd.
    package_parent = os.path.dirname(os.path.dirname(clustering_metrics.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", "clustering_metrics", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    "preds_name, target_name",
    [
        ("preds.npy", "target.npy"),
        ("preds.pt", "target.pt"),
        ("preds.csv", "target.csv"),
        ("preds.txt", "target.txt"),
        ("preds.npy", "target.csv"),
        ("preds.pt", "target.txt"),
    ],
)
def test_score_of_every_format_matches_sklearn(tmp_path, capsys, preds_name, target_name):
    preds = write_labels(tmp_path, preds_name, PREDS)
    target = write_labels(tmp_path, target_name, TARGET)
    status, out, err = run_cli(["score", preds, target], capsys)
    assert (status, err) == (0, "")
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, ">i8"])
def test_npy_integer_dtypes(tmp_path, capsys, dtype):
    preds = write_labels(tmp_path, "preds.npy", (PREDS % 6).astype(dtype))
    target = write_labels(tmp_path, "target.npy", (TARGET + 2).astype(dtype))
    status, out, _ = run_cli(["score", preds, target], capsys)
    assert status == 0
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_reference_example(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", [2, 1, 0, 1, 0])
    target = write_labels(tmp_path, "target.npy", [0, 2, 1, 1, 0])
    # Five distinct pairs over clusters of sizes (2, 2, 1) a side, from the formula.
    expected = (3 * np.log(5 / 4) + 2 * np.log(5 / 2)) / 5
    status, out, _ = run_cli(["score", preds, target], capsys)
    assert status == 0
    assert float(out) == pytest.approx(expected, rel=1e-14)
    assert out.strip().startswith("0.5004")


def test_csv_with_header_single_column(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.csv", PREDS, header="cluster")
    target = write_labels(tmp_path, "target.txt", TARGET, header="label")
    status, out, _ = run_cli(["score", preds, target], capsys)
    assert status == 0
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_csv_columns_by_name(tmp_path, capsys):
    table = tmp_path / "labels.csv"
    rows = ["id,kmeans,truth"] + [f"{i},{p},{t}" for i, (p, t) in enumerate(zip(PREDS, TARGET))]
    table.write_text("\n".join(rows) + "\n")
    status, out, _ = run_cli(["score", str(table), str(table), "--preds-column", "kmeans", "--target-column", "truth"], capsys)
    assert status == 0
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_column_applies_to_both_files(tmp_path, capsys):
    preds_table, target_table = tmp_path / "preds.csv", tmp_path / "target.csv"
    preds_table.write_text("id,cluster\n" + "".join(f"{i},{p}\n" for i, p in enumerate(PREDS)))
    target_table.write_text("cluster,id\n" + "".join(f"{t},{i}\n" for i, t in enumerate(TARGET)))
    status, out, _ = run_cli(["score", str(preds_table), str(target_table), "--column", "cluster"], capsys)
    assert status == 0
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_json_output(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    target = write_labels(tmp_path, "target.csv", TARGET)
    status, out, _ = run_cli(["score", preds, target, "--json"], capsys)
    assert status == 0
    result = json.loads(out)
    assert result["n_samples"] == len(PREDS)
    assert result["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


SKLEARN_METRICS = {
    "mutual_info_score": sklearn_metrics.mutual_info_score,
    "normalized_mutual_info_score": sklearn_metrics.normalized_mutual_info_score,
    "adjusted_mutual_info_score": sklearn_metrics.adjusted_mutual_info_score,
    "rand_score": sklearn_metrics.rand_score,
    "adjusted_rand_score": sklearn_metrics.adjusted_rand_score,
    "homogeneity_score": sklearn_metrics.homogeneity_score,
    "completeness_score": sklearn_metrics.completeness_score,
    "v_measure_score": sklearn_metrics.v_measure_score,
    "fowlkes_mallows_index": sklearn_metrics.fowlkes_mallows_score,
}


def test_metric_all_as_json_matches_sklearn(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    target = write_labels(tmp_path, "target.pt", TARGET)
    status, out, _ = run_cli(["score", preds, target, "--metric", "all", "--json"], capsys)
    assert status == 0
    result = json.loads(out)
    assert result.pop("n_samples") == len(PREDS)
    assert list(result) == list(SKLEARN_METRICS)
    for name, reference in SKLEARN_METRICS.items():
        assert result[name] == pytest.approx(reference(TARGET, PREDS), rel=1e-9, abs=1e-12), name


def test_repeated_metric_options_print_name_value_lines(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    target = write_labels(tmp_path, "target.npy", TARGET)
    args = ["score", preds, target, "--metric", "adjusted_rand_score", "--metric", "v_measure_score", "--beta", "2",
            "--metric", "adjusted_rand_score"]
    status, out, _ = run_cli(args, capsys)
    assert status == 0
    lines = [line.split() for line in out.strip().splitlines()]
    assert [name for name, _ in lines] == ["adjusted_rand_score", "v_measure_score"]
    assert float(lines[0][1]) == pytest.approx(sklearn_metrics.adjusted_rand_score(TARGET, PREDS), rel=1e-9)
    assert float(lines[1][1]) == pytest.approx(sklearn_metrics.v_measure_score(TARGET, PREDS, beta=2.0), rel=1e-9)


def test_average_method_option(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    target = write_labels(tmp_path, "target.npy", TARGET)
    status, out, _ = run_cli(["score", preds, target, "--metric", "normalized_mutual_info_score",
                              "--average-method", "geometric"], capsys)
    assert status == 0
    expected = sklearn_metrics.normalized_mutual_info_score(TARGET, PREDS, average_method="geometric")
    assert float(out) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("bad", [["--metric", "accuracy"], ["--beta", "0"], ["--beta", "x"], ["--average-method", "median"]])
def test_bad_metric_options_are_usage_errors(tmp_path, capsys, bad):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", preds, preds, *bad])
    assert exit_info.value.code == 2


def _float_npy(tmp_path):
    return write_labels(tmp_path, "bad.npy", PREDS.astype(np.float32))


def _float_csv(tmp_path):
    return write_text(tmp_path, "bad.csv", "1\n2.5\n3\n")


def _word_txt(tmp_path):
    return write_text(tmp_path, "bad.txt", "label\n1\ncat\n")


def _two_d_npy(tmp_path):
    return write_labels(tmp_path, "bad.npy", PREDS.reshape(-1, 2))


def _two_d_pt(tmp_path):
    return write_labels(tmp_path, "bad.pt", torch.as_tensor(PREDS).reshape(-1, 3))


def _float_pt(tmp_path):
    return write_labels(tmp_path, "bad.pt", torch.rand(len(PREDS)))


def _dict_pt(tmp_path):
    torch.save({"labels": torch.as_tensor(PREDS)}, tmp_path / "bad.pt")
    return str(tmp_path / "bad.pt")


def _text_as_npy(tmp_path):
    return write_text(tmp_path, "bad.npy", "1\n2\n")


def _object_npy(tmp_path):
    np.save(tmp_path / "bad.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    return str(tmp_path / "bad.npy")


def _text_as_pt(tmp_path):
    return write_text(tmp_path, "bad.pt", "1\n2\n")


def _unknown_extension(tmp_path):
    return write_text(tmp_path, "labels.parquet", "1\n2\n")


def _missing(tmp_path):
    return str(tmp_path / "missing.npy")


def _empty_csv(tmp_path):
    return write_text(tmp_path, "empty.csv", "")


def _binary_csv(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00\x81\n")
    return str(tmp_path / "bad.csv")


def _two_columns(tmp_path):
    return write_text(tmp_path, "bad.csv", "a,b\n1,2\n")


@pytest.mark.parametrize(
    "make_target, phrase",
    [
        (_missing, "no such file"),
        (_unknown_extension, "unknown format '.parquet'"),
        (_float_npy, "must be integers"),
        (_float_csv, "'2.5' is a float"),
        (_float_pt, "must be integers"),
        (_word_txt, "'cat' is not an integer label"),
        (_two_d_npy, "must be 1-D"),
        (_two_d_pt, "must be 1-D"),
        (_dict_pt, "expected a saved tensor"),
        (_text_as_npy, "not a .npy file"),
        (_object_npy, "not a readable .npy"),
        (_text_as_pt, "not a readable torch file"),
        (_empty_csv, "has no labels"),
        (_binary_csv, "cannot read"),
        (_two_columns, "choose one with --column"),
    ],
)
def test_bad_target_file_is_one_line_error(tmp_path, capsys, make_target, phrase):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    status, out, err = run_cli(["score", preds, make_target(tmp_path)], capsys)
    assert_one_line_error(status, out, err, phrase)


def test_different_lengths(tmp_path, capsys):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    target = write_labels(tmp_path, "target.npy", TARGET[:-1])
    status, out, err = run_cli(["score", preds, target], capsys)
    assert_one_line_error(status, out, err, f"PREDS has {len(PREDS)} labels but TARGET has {len(PREDS) - 1}")


def test_unknown_column(tmp_path, capsys):
    table = tmp_path / "labels.csv"
    table.write_text("kmeans,truth\n1,2\n")
    status, out, err = run_cli(["score", str(table), str(table), "--column", "nope"], capsys)
    assert_one_line_error(status, out, err, "no column 'nope' in the header (columns: kmeans, truth)")


def test_cuda_without_gpu(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    status, out, err = run_cli(["score", preds, preds, "--device", "cuda"], capsys)
    assert_one_line_error(status, out, err, "--device cuda: torch sees no CUDA GPU")


def test_help_lists_commands_formats_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    top_help = capsys.readouterr().out
    assert "score" in top_help and "demo" in top_help
    with pytest.raises(SystemExit):
        cli.main(["score", "--help"])
    score_help = capsys.readouterr().out
    for text in (".npy", ".pt", ".csv", "--column", "--json", "--device", "examples:", "exit status"):
        assert text in score_help


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", "only-one-file.npy"])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_no_arguments_runs_the_demo(monkeypatch):
    calls = []
    monkeypatch.setattr("clustering_metrics.demo.run", lambda **kwargs: calls.append(kwargs))
    assert cli.main([]) == 0
    assert calls == [{"num_samples": 10_000_000, "num_clusters": 1000, "device": "cpu", "seed": 0}]


def test_demo_prints_the_reference_examples(capsys):
    assert cli.main(["demo", "--samples", "2000", "--clusters", "10"]) == 0
    out = capsys.readouterr().out
    assert "MI = 0.5004" in out and "MI = 1.0549" in out


def test_subprocess_score_and_error(tmp_path):
    preds = write_labels(tmp_path, "preds.pt", PREDS)
    target = write_labels(tmp_path, "target.csv", TARGET, header="label")
    result = cli_subprocess("score", preds, target, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)

    result = cli_subprocess("score", preds, str(tmp_path / "missing.csv"))
    assert result.returncode == cli.EXIT_INPUT_ERROR
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"clustering-metrics: error: {tmp_path / 'missing.csv'}: no such file"]
