"""The ``clustering-metrics`` command line, checked against scikit-learn's mutual_info_score."""

import io
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import sklearn.metrics as sklearn_metrics
from sklearn.metrics import mutual_info_score as sklearn_mutual_info_score

import clustering_metrics
from clustering_metrics import cli, data_files

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
    assert (result["preds_header"], result["target_header"]) == (None, None)
    assert (result["preds_labels_read"], result["target_labels_read"]) == (len(PREDS), len(TARGET))


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
    assert (result.pop("preds_header"), result.pop("target_header")) == (None, None)
    assert (result.pop("preds_labels_read"), result.pop("target_labels_read")) == (len(PREDS), len(TARGET))
    accuracy = result.pop("cluster_accuracy")  # tested against scipy's assignment below
    assert 0 < accuracy <= 1
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
        (_object_npy, "labels have dtype object"),
        (_text_as_pt, "not a readable torch file"),
        (_empty_csv, "the file is empty"),
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
    assert_one_line_error(status, out, err, "no column 'nope' in the header (columns: kmeans, truth; fields split at ',')")


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
    for text in (".npy", ".pt", ".csv", "--column", "--header", "--no-header", "--json", "--device", "examples:",
                 "exit status"):
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


# CSV and TXT files: what is a label, what is a header, and which line is at fault.

def read_csv(tmp_path, text, column=None, header=None, name="labels.csv"):
    """``load_labels`` of a file holding ``text`` (UTF-8): its labels as a list, and its header."""
    path = tmp_path / name
    path.write_bytes(text.encode())
    loaded = data_files.load_labels(str(path), column, header)
    return loaded.labels.tolist(), loaded.header


def csv_error(tmp_path, text, column=None, header=None):
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode())
    with pytest.raises(data_files.InputError) as error:
        data_files.load_labels(str(path), column, header)
    return str(error.value)


@pytest.mark.parametrize(
    "text, header_option, expected_labels, expected_header",
    [
        ("cluster\n3\n4\n", None, [3, 4], "cluster"),  # a name is a header
        ("cluster\n3\n4\n", True, [3, 4], "cluster"),
        ("0\n3\n4\n", None, [0, 3, 4], None),  # a number is a label by default...
        ("0\n3\n4\n", True, [3, 4], "0"),  # ...and --header skips it (pandas' header of an unnamed Series)
        ("0\n3\n4\n", False, [0, 3, 4], None),
        ("-7\n3\n", None, [-7, 3], None),
        ("+7\n3\n", None, [7, 3], None),
        ("  label  \n3\n", None, [3], "label"),
    ],
)
def test_first_line_of_a_one_column_file(tmp_path, text, header_option, expected_labels, expected_header):
    assert read_csv(tmp_path, text, header=header_option) == (expected_labels, expected_header)


@pytest.mark.parametrize(
    "text, header_option, phrase",
    [
        # A first line that is not an integer is never dropped unless it is a name.
        ("1.5\n3\n", None, "line 1: '1.5' is a float"),
        ("1e3\n3\n", None, "line 1: '1e3' is a float"),
        ("nan\n3\n", None, "line 1: 'nan' is a float"),
        ("\n3\n", None, "line 1: the label is empty"),
        ("cluster\n3\n", False, "line 1: 'cluster' is not an integer label"),
        ("cluster\n", None, "the file has no labels"),
        ("0\n", True, "the file has no labels"),
    ],
)
def test_first_line_that_is_neither_a_header_nor_a_label(tmp_path, text, header_option, phrase):
    assert phrase in csv_error(tmp_path, text, header=header_option)


@pytest.mark.parametrize(
    "text, column, expected",
    [
        ("\ufeff5\n1\n2\n", None, ([5, 1, 2], None)),  # the first label stays a label
        ("\ufeffcluster\n1\n2\n", None, ([1, 2], "cluster")),
        ("\ufeffid,k\n1,5\n2,6\n", "id", ([1, 2], "id")),  # the first column keeps its name
        ("\ufeff5\r\n1\r\n2\r\n", None, ([5, 1, 2], None)),
    ],
)
def test_byte_order_mark_is_not_part_of_the_first_cell(tmp_path, text, column, expected):
    assert read_csv(tmp_path, text, column) == expected


def test_excel_csv_with_byte_order_mark_scores_like_sklearn(tmp_path, capsys):
    preds, target = tmp_path / "preds.csv", tmp_path / "target.csv"
    preds.write_bytes(("\n".join(map(str, PREDS)) + "\n").encode("utf-8-sig"))
    target.write_bytes(("truth\n" + "\n".join(map(str, TARGET)) + "\n").encode("utf-8-sig"))
    status, out, _ = run_cli(["score", str(preds), str(target), "--json"], capsys)
    assert status == 0
    result = json.loads(out)
    assert (result["n_samples"], result["preds_header"], result["target_header"]) == (len(PREDS), None, "truth")
    assert result["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_pandas_unnamed_series_header(tmp_path, capsys):
    # pandas.Series(labels).to_csv(path, index=False) writes the header "0".
    preds = write_labels(tmp_path, "preds.csv", PREDS, header="0")
    target = write_labels(tmp_path, "target.csv", TARGET, header="0")
    status, out, _ = run_cli(["score", preds, target, "--json", "--header"], capsys)
    assert status == 0
    result = json.loads(out)
    assert (result["n_samples"], result["preds_header"], result["target_header"]) == (len(PREDS), "0", "0")
    assert result["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)

    # Without --header the "0" is a label, as documented, and --json says so: one
    # label more read from each file, no header skipped.
    status, out, _ = run_cli(["score", preds, target, "--json"], capsys)
    result = json.loads(out)
    assert (result["n_samples"], result["preds_header"], result["target_header"]) == (len(PREDS) + 1, None, None)
    assert result["preds_labels_read"] == result["target_labels_read"] == len(PREDS) + 1

    # One such file next to one without a header: name the column of the first, force the second.
    plain_target = write_labels(tmp_path, "plain.csv", TARGET)
    status, out, _ = run_cli(["score", preds, plain_target, "--preds-column", "0", "--no-header", "--json"], capsys)
    assert status == 0
    result = json.loads(out)
    assert (result["n_samples"], result["preds_header"], result["target_header"]) == (len(PREDS), "0", None)
    assert result["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12, abs=1e-15)


def test_header_and_no_header_are_exclusive(tmp_path):
    preds = write_labels(tmp_path, "preds.csv", PREDS)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", preds, preds, "--header", "--no-header"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1\n2\n3", [1, 2, 3]),  # no newline at the end
        (" 1 \n\t+2\t\n-3\n", [1, 2, -3]),  # surrounding whitespace, signs
        ("007\n-0\n+0000000000000000000000042\n", [7, 0, 42]),  # leading zeros, also past 19 digits
        ("1\r\n2\r\n3\r\n", [1, 2, 3]),
        ("1\r2\r3\r", [1, 2, 3]),
        ('"1"\n"2"\n3\n', [1, 2, 3]),  # quoted cells
        ("9223372036854775807\n-9223372036854775808\n", [2**63 - 1, -(2**63)]),
    ],
)
def test_labels_that_are_integers(tmp_path, text, expected):
    assert read_csv(tmp_path, text) == (expected, None)


BAD_LABELS = [
    ("1.5", "is a float"),
    ("2.0", "is a float"),
    ("1e3", "is a float"),
    ("-.5", "is a float"),
    ("nan", "is a float"),
    ("-inf", "is a float"),
    ("0x10", "is not an integer label"),
    ("1_000", "is not an integer label"),
    ("\u0663", "is not an integer label"),  # an Arabic-Indic 3, which int() would take
    ("1 2", "is not an integer label"),
    ("+", "is not an integer label"),
    ("--1", "is not an integer label"),
    ("1-", "is not an integer label"),
    ("cat", "is not an integer label"),
    ("9223372036854775808", "does not fit in a 64-bit integer"),
    ("-9223372036854775809", "does not fit in a 64-bit integer"),
    ("99999999999999999999", "does not fit in a 64-bit integer"),
    ("9" * 5000, "does not fit in a 64-bit integer"),  # past int()'s 4300-digit limit
    ("-1" + "0" * 4400, "does not fit in a 64-bit integer"),
]


@pytest.mark.parametrize("bad, phrase", BAD_LABELS)
@pytest.mark.parametrize("header", ["", "cluster\n"])
def test_bad_label_names_its_line(tmp_path, bad, phrase, header):
    text = header + "1\n2\n3\n4\n5\n" + bad + "\n6\n"
    message = csv_error(tmp_path, text)
    line = 6 + bool(header)  # line numbers count the header line
    assert message.startswith(f"{tmp_path / 'labels.csv'}, line {line}: ")
    assert phrase in message
    assert bad[:20] in message and len(message) < 200  # a 5000-digit cell is shown shortened


FIRST_LINE_NON_NAMES = [case for case in BAD_LABELS if case[0] != "cat"] + [  # "cat" is a name: a header
    # The tokens that were taken as headers, and their neighbours.
    ("0b1", "is not an integer label"),
    ("0o7", "is not an integer label"),
    ("+-1", "is not an integer label"),
    ("-", "is not an integer label"),
    ("\uff11", "is not an integer label"),  # a fullwidth 1
    (".", "is not an integer label"),
    ("#id", "is not an integer label"),
    ("1cluster", "is not an integer label"),
    ("-cluster", "is not an integer label"),
    ("inf", "is a float"),
    ("Infinity", "is a float"),
]


@pytest.mark.parametrize("bad, phrase", FIRST_LINE_NON_NAMES)
def test_a_first_line_that_is_not_a_name_is_a_label_like_any_other(tmp_path, bad, phrase):
    # The same grammar on every line: what is refused on line 5 is refused on line 1, not taken as a header.
    message = csv_error(tmp_path, bad + "\n1\n2\n")
    assert message.startswith(f"{tmp_path / 'labels.csv'}, line 1: ") and phrase in message, message
    if phrase == "is not an integer label":
        assert "pass --header" in message
    assert phrase in csv_error(tmp_path, "1\n2\n" + bad + "\n")
    # --header still makes it a header, whatever it holds.
    assert read_csv(tmp_path, bad + "\n1\n2\n", header=True) == ([1, 2], bad.strip() or None)


@pytest.mark.parametrize("name", ["cluster", "_id", "k-means", "pred (v2)", "\u00c9tiquette", "\u65e5\u672c", "x1", "nano"])
def test_a_first_line_that_is_a_name_is_a_header(tmp_path, name):
    assert read_csv(tmp_path, f"{name}\n7\n8\n") == ([7, 8], name)


@pytest.mark.parametrize("columns", [3, 50, 200_000])
def test_a_missing_column_lists_a_bounded_part_of_the_header(tmp_path, columns):
    header = ",".join(f"column_{i}" for i in range(columns))
    message = csv_error(tmp_path, header + "\n" + ",".join("1" * columns) + "\n", column="kmeans")
    assert "no column 'kmeans' in the header (columns: column_0, column_1, column_2" in message
    assert len(message) < 400
    assert (f"({columns} columns)" in message) == (columns > data_files.SHOWN_COLUMNS)


@pytest.mark.parametrize(
    "text",
    [
        "id,k\n1,2\n2,3,4\n",  # plain: the fast reader's file
        "id,k\n1,2\n2,3,\n",  # an empty extra field
        'id,k\n1,2\n"2",3,4\n',  # quoted: the exact reader's file
        "id,k\n1,2\n2,3,4",  # no newline at the end
        "id,k\n" + "1,2\n" * 100_000 + "2,3,4\n",  # past the first chunks
    ],
)
def test_a_row_with_more_fields_than_the_header_is_an_error(tmp_path, text):
    line = text.count("\n") + (not text.endswith("\n"))
    assert f"line {line}: the row has 3 fields but the header has 2" in csv_error(tmp_path, text, column="k")


def test_rows_with_as_many_fields_as_the_header_in_every_chunk(tmp_path):
    # Lines straddle the scanner's chunks; every one has the header's 2 fields.
    text = "id,k\n" + "".join(f"{i},{i % 7}\n" for i in range(700_000))
    assert read_csv(tmp_path, text, column="k")[0] == [i % 7 for i in range(700_000)]


def test_symbolic_links_that_reach_no_file_are_named(tmp_path, capsys):
    loop_a, loop_b = tmp_path / "a.csv", tmp_path / "b.csv"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "gone.csv")
    target = write_labels(tmp_path, "target.npy", TARGET)
    status, out, err = run_cli(["score", str(loop_a), target], capsys)
    assert_one_line_error(status, out, err, f"{loop_a}: a loop of symbolic links")
    status, out, err = run_cli(["score", str(dangling), target], capsys)
    assert_one_line_error(status, out, err, f"{dangling}: a broken symbolic link")
    status, out, err = run_cli(["score", str(tmp_path / "absent.csv"), target], capsys)
    assert_one_line_error(status, out, err, "absent.csv: no such file")


@pytest.mark.parametrize("bad, phrase", BAD_LABELS)
def test_fast_reader_accepts_no_bad_label(tmp_path, bad, phrase):
    # The fast reader must leave every file it cannot read exactly to the exact reader.
    path = tmp_path / "labels.csv"
    path.write_text("1\n2\n" + bad + "\n3\n")
    assert data_files._read_column_fast(str(path), 0, None, False) is None


@pytest.mark.parametrize(
    "text, column, phrase",
    [
        ("1\n\n2\n", None, "line 2: the label is empty"),  # a blank line among labels could be a missing label
        ("1\n  \n2\n", None, "line 2: the label is empty"),
        ("1\n\n\n2\n\n", None, "line 2: the label is empty"),
        ("cluster\n1\n1,2\n", None, "line 3: 2 columns in a one-column file"),
        ("id,k\n1,2\n2,\n", "k", "line 3: the label is empty"),
        ("id,k\n1,2\n2\n", "k", "line 3: the row has 1 fields but the header has 2"),
        ("k,k\n1,2\n", "k", "the header has 2 columns named 'k'"),
        ("1\n2\x00\n", None, "line 2: '2\\x00' is not an integer label"),
    ],
)
def test_missing_or_misplaced_labels(tmp_path, text, column, phrase):
    assert phrase in csv_error(tmp_path, text, column)


def test_columns_with_quoted_commas_and_newlines(tmp_path):
    text = 'id,note,k\n1,"a, b",3\n2,"two\nlines",4\n3,plain,5\n'
    assert read_csv(tmp_path, text, "k") == ([3, 4, 5], "k")
    # Line numbers count physical lines: the bad record spans lines 6 and 7, and ends on line 7.
    assert "line 7: 'x' is not an integer label" in csv_error(tmp_path, text + '4,"x\ny",x\n', "k")


def test_quoted_comma_before_the_column(tmp_path):
    # Split at every comma, as by a reader that ignores quotes, this row's k would be 7.
    assert read_csv(tmp_path, 'id,note,a,k\n1,"x,y",7,8\n2,plain,5,6\n', "k") == ([8, 6], "k")


def test_fast_reader_refuses_integers_read_via_float(tmp_path, monkeypatch):
    # numpy 1.23-1.26 read "1.5" as 1 with a DeprecationWarning instead of refusing it.
    def loadtxt_of_numpy_1_26(*args, **kwargs):
        warnings.warn("loadtxt(): Parsing an integer via a float is deprecated.", DeprecationWarning)
        return np.array([[1], [1]])

    monkeypatch.setattr(np, "loadtxt", loadtxt_of_numpy_1_26)
    path = tmp_path / "labels.csv"
    path.write_text("1\n1.5\n")
    assert data_files._read_column_fast(str(path), 0, None, False) is None


def test_fast_and_exact_readers_agree(tmp_path):
    rng = np.random.default_rng(3)
    labels = rng.integers(-(2**63), 2**63 - 1, size=5000, endpoint=True)
    files = [
        ("\n".join(map(str, labels)) + "\n", None, False, 1),
        ("cluster\n" + "\n".join(f" {value}\t" for value in labels), None, True, 1),
        ("id,k,x\n" + "".join(f"{i},{value},y\r\n" for i, value in enumerate(labels)), "k", True, 3),
    ]
    for text, column, skip_header, width in files:
        path = tmp_path / "labels.csv"
        path.write_text(text)
        index = 1 if column else 0
        fast = data_files._read_column_fast(str(path), index, column, skip_header)
        assert fast is not None  # plain files take the fast path
        exact = data_files._read_column_exact(str(path), index, width, column, skip_header, ",")
        assert fast.tolist() == exact.tolist() == labels.tolist()


def test_bad_label_at_the_end_of_a_long_file(tmp_path):
    # The fast reader refuses the file; the exact reader finds the line.
    text = "cluster\n" + "1\n" * 200_000 + "1.0\n"
    assert f"line {200_002}: '1.0' is a float" in csv_error(tmp_path, text)


# Files that are not what they claim to be, each one line on stderr.

def _truncated(tmp_path, name, keep):
    """Cut the file to its first ``keep`` bytes (an int) or that fraction of it (a float); returns the path."""
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    return str(tmp_path / name)


@pytest.mark.parametrize("zip_format", [True, False])
@pytest.mark.parametrize("keep", [8, 100, 0.5, 0.99])
def test_truncated_pt(tmp_path, capsys, zip_format, keep):
    torch.save(torch.as_tensor(PREDS), tmp_path / "bad.pt", _use_new_zipfile_serialization=zip_format)
    path = _truncated(tmp_path, "bad.pt", keep)
    status, out, err = run_cli(["score", write_labels(tmp_path, "preds.npy", PREDS), path], capsys)
    assert_one_line_error(status, out, err, "not a readable torch file")


def _npy_header(shape, descr="<i8"):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


@pytest.mark.parametrize("shape, data_bytes", [((10**15,), 16), ((10**8, 10**8), 0), ((300,), 300 * 8 - 1)])
def test_npy_header_larger_than_the_file(tmp_path, capsys, monkeypatch, shape, data_bytes):
    (tmp_path / "bad.npy").write_bytes(_npy_header(shape) + b"\0" * data_bytes)
    # The header is checked before numpy reads (and allocates) what it declares.
    monkeypatch.setattr(np.lib.format, "read_array", lambda *args, **kwargs: pytest.fail("read_array was called"))
    status, out, err = run_cli(["score", str(tmp_path / "bad.npy"), str(tmp_path / "bad.npy")], capsys)
    assert_one_line_error(status, out, err, f"truncated .npy file: its header declares shape {shape}")


@pytest.mark.parametrize("damage", ["header length", "huge dimension"])
@pytest.mark.parametrize("command, dtype", [("score", np.int64), ("intrinsic", np.float64)])
def test_npy_header_that_numpy_cannot_parse_is_one_line(tmp_path, capsys, damage, command, dtype):
    path = tmp_path / "bad.npy"
    if damage == "header length":  # cuts the header short: numpy's literal parser fails
        np.save(path, np.arange(8, dtype=dtype).reshape(4, 2) if command == "intrinsic" else np.arange(8))
        raw = bytearray(path.read_bytes())
        raw[8:10] = (40).to_bytes(2, "little")
        path.write_bytes(bytes(raw))
    else:  # no data, and a dimension past a C long
        path.write_bytes(_npy_header((0, 10**20), np.dtype(dtype).str))
    labels = write_labels(tmp_path, "y.npy", np.array([0, 0, 1, 1]))
    status, out, err = run_cli([command, str(path), labels], capsys)
    assert_one_line_error(status, out, err, "not a readable .npy array")


def test_pt_of_bits_labels_is_refused_and_float8_embeddings_are_read(tmp_path, capsys):
    labels = _save(tmp_path, "bits.pt", torch.zeros(4, dtype=torch.uint8).view(torch.bits8))
    status, out, err = run_cli(["score", labels, labels], capsys)
    assert_one_line_error(status, out, err, "labels have dtype torch.bits8; cluster labels must be integers")
    data = np.array([[0.0, 0.5], [0.25, 0.5], [4.0, 4.0], [4.5, 4.0], [8.0, 0.0]])  # exact in float8_e4m3fn
    embeddings = _save(tmp_path, "x.pt", torch.from_numpy(data).to(torch.float8_e4m3fn))
    label_values = np.array([0, 0, 1, 1, 2])
    status, out, err = run_cli(["intrinsic", embeddings, write_labels(tmp_path, "y.npy", label_values),
                                "--metric", "calinski_harabasz_score"], capsys)
    assert status == 0, err
    assert float(out) == pytest.approx(sklearn_metrics.calinski_harabasz_score(data, label_values), rel=1e-12)


def test_truncated_real_npy(tmp_path, capsys):
    write_labels(tmp_path, "bad.npy", PREDS)
    path = _truncated(tmp_path, "bad.npy", 0.5)
    status, out, err = run_cli(["score", write_labels(tmp_path, "preds.npy", PREDS), path], capsys)
    assert_one_line_error(status, out, err, "truncated .npy file")


def _save(tmp_path, name, value):
    torch.save(value, tmp_path / name)
    return str(tmp_path / name)


@pytest.mark.parametrize(
    "make_value, phrase",
    [
        (lambda: torch.as_tensor(PREDS).to_sparse(), "expected a dense 1-D integer tensor, found a sparse_coo tensor"),
        (lambda: torch.as_tensor(PREDS).reshape(-1, 2).to_sparse_csr(), "found a sparse_csr tensor"),
        (lambda: torch.quantize_per_tensor(torch.rand(len(PREDS)), 0.1, 0, torch.quint8), "found a quantized tensor"),
        (lambda: torch.nested.nested_tensor([torch.arange(3), torch.arange(4)]), "found a nested tensor"),
        (lambda: torch.empty(len(PREDS), dtype=torch.int64, device="meta"), "found a meta tensor"),
        (lambda: [torch.as_tensor(PREDS)], "expected a saved tensor but found a list"),
        (lambda: {"labels": torch.as_tensor(PREDS)}, "expected a saved tensor but found a dict"),
        (lambda: torch.tensor(3), "labels must be 1-D but have shape ()"),
    ],
)
def test_pt_that_is_not_a_dense_1d_tensor(tmp_path, capsys, make_value, phrase):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that quantized and nested tensors are deprecated or new
        path = _save(tmp_path, "bad.pt", make_value())
    status, out, err = run_cli(["score", write_labels(tmp_path, "preds.npy", PREDS), path], capsys)
    assert_one_line_error(status, out, err, phrase)


@pytest.mark.parametrize("make_value", [lambda: torch.as_tensor(PREDS).to_sparse(),
                                        lambda: torch.quantize_per_tensor(torch.rand(9), 0.1, 0, torch.quint8)])
def test_pt_load_warnings_stay_off_stderr(tmp_path, make_value):
    # torch.load warns about these; stderr must still be the one error line.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = _save(tmp_path, "bad.pt", make_value())
    result = cli_subprocess("score", write_labels(tmp_path, "preds.npy", PREDS), path)
    assert result.returncode == cli.EXIT_INPUT_ERROR
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "expected a dense 1-D integer tensor" in result.stderr


def test_zero_d_npy_is_refused_like_zero_d_pt(tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.int64(3))
    status, out, err = run_cli(["score", write_labels(tmp_path, "preds.npy", PREDS), str(tmp_path / "bad.npy")], capsys)
    assert_one_line_error(status, out, err, "bad.npy: labels must be 1-D but have shape ()")


@pytest.mark.parametrize("extension", [".csv", ".npy", ".pt"])
def test_empty_file_and_directory(tmp_path, capsys, extension):
    preds = write_labels(tmp_path, "preds.npy", PREDS)
    (tmp_path / f"empty{extension}").write_bytes(b"")
    status, out, err = run_cli(["score", preds, str(tmp_path / f"empty{extension}")], capsys)
    assert_one_line_error(status, out, err, "the file is empty")
    (tmp_path / f"folder{extension}").mkdir()
    status, out, err = run_cli(["score", preds, str(tmp_path / f"folder{extension}")], capsys)
    assert_one_line_error(status, out, err, "is a directory")


# ------------------------------------------------------------------ intrinsic metrics and the cluster accuracy


def test_score_prints_the_cluster_accuracy_exactly(tmp_path, capsys):
    preds, target = PREDS, TARGET
    table = sklearn_metrics.cluster.contingency_matrix(target, preds)
    rows, cols = __import__("scipy.optimize").optimize.linear_sum_assignment(table, maximize=True)
    expected = table[rows, cols].sum() / len(preds)
    status, out, err = run_cli(["score", write_labels(tmp_path, "p.npy", preds), write_labels(tmp_path, "t.csv", target),
                                "--metric", "cluster_accuracy", "--json"], capsys)
    assert status == 0 and json.loads(out)["cluster_accuracy"] == pytest.approx(expected, rel=1e-15)


def write_embeddings(directory, name, data):
    path = directory / name
    np.save(path, data) if path.suffix == ".npy" else torch.save(torch.as_tensor(data), path)
    return str(path)


@pytest.mark.parametrize("data_name", ["x.npy", "x.pt"])
def test_intrinsic_metrics_match_sklearn(tmp_path, capsys, data_name):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(len(PREDS), 5)) + PREDS[:, None]
    status, out, err = run_cli(["intrinsic", write_embeddings(tmp_path, data_name, data.astype(np.float32)),
                                write_labels(tmp_path, "labels.csv", PREDS, header="kmeans"), "--metric", "all",
                                "--json"], capsys)
    assert status == 0, err
    values = json.loads(out)
    exact = data.astype(np.float32).astype(np.float64)
    assert values["calinski_harabasz_score"] == pytest.approx(sklearn_metrics.calinski_harabasz_score(exact, PREDS), rel=1e-10)
    assert values["davies_bouldin_score"] == pytest.approx(sklearn_metrics.davies_bouldin_score(exact, PREDS), rel=1e-10)
    assert values["silhouette_score"] == pytest.approx(sklearn_metrics.silhouette_score(exact, PREDS), rel=1e-9)
    assert values["n_samples"] == len(PREDS) and values["dimensions"] == 5 and values["labels_header"] == "kmeans"


def test_intrinsic_default_metrics_leave_out_the_silhouette(tmp_path, capsys):
    data = np.random.default_rng(4).normal(size=(len(PREDS), 3))
    status, out, err = run_cli(["intrinsic", write_embeddings(tmp_path, "x.npy", data),
                                write_labels(tmp_path, "y.npy", PREDS)], capsys)
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == list(cli.DEFAULT_INTRINSIC)


@pytest.mark.parametrize(
    "data, labels, phrase",
    [
        (np.zeros((4, 2), dtype=np.int64), [0, 0, 1, 1], "embeddings have dtype int64; embeddings must be floating-point"),
        (np.zeros((4, 2), dtype=np.longdouble), [0, 0, 1, 1], "floating-point, of at most 64 bits"),
        (np.zeros((4, 0)), [0, 0, 1, 1], "the embeddings have no dimensions (shape (4, 0))"),
        (np.zeros(4), [0, 0, 1, 1], "embeddings must be 2-D"),
        (np.zeros((5, 2)), [0, 0, 1, 1], "DATA has 5 rows but LABELS has 4 labels"),
        (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0], [2.0, 2.0]]), [0, 0, 1, 1], "row 1 has a value that is not finite"),
        (np.zeros((4, 2)), [0, 0, 0, 0], "Number of detected clusters must be greater than one"),
    ],
)
def test_intrinsic_bad_input_is_one_line(tmp_path, capsys, data, labels, phrase):
    status, out, err = run_cli(["intrinsic", write_embeddings(tmp_path, "x.npy", data),
                                write_labels(tmp_path, "y.npy", np.array(labels))], capsys)
    assert_one_line_error(status, out, err, phrase)


def test_intrinsic_refuses_other_formats_and_sparse_tensors(tmp_path, capsys):
    labels = write_labels(tmp_path, "y.npy", np.array([0, 1]))
    status, out, err = run_cli(["intrinsic", write_text(tmp_path, "x.csv", "1,2\n3,4\n"), labels], capsys)
    assert_one_line_error(status, out, err, "unknown format '.csv'; expected .npy or .pt")
    sparse = tmp_path / "sparse.pt"
    torch.save(torch.eye(2).to_sparse(), sparse)
    status, out, err = run_cli(["intrinsic", str(sparse), labels], capsys)
    assert_one_line_error(status, out, err, "expected a dense 2-D floating-point tensor, found a sparse_coo tensor")


# ------------------------------------------------------------------ blank lines at the end, delimiters, headers per file


@pytest.mark.parametrize("ending", ["\n", "\n\n", "\n\n\n", "\n  \n\t\n", "\r\n\r\n", ""])
@pytest.mark.parametrize("size", [5, 300_000])  # the exact reader, and the fast one
def test_blank_lines_at_the_end_are_no_labels(tmp_path, ending, size):
    labels = [i % 7 for i in range(size)]
    text = "cluster\n" + "\n".join(map(str, labels)) + ending
    assert read_csv(tmp_path, text) == (labels, "cluster")


@pytest.mark.parametrize("text", ["1\n\n2\n\n", "id,k\n1,2\n\n3,4\n\n", "1\n \n2\n"])
def test_a_blank_line_among_labels_is_still_an_error(tmp_path, text):
    column = "k" if text.startswith("id") else None
    assert "the label is empty" in csv_error(tmp_path, text, column)


@pytest.mark.parametrize("delimiter", ["→", "é"])
@pytest.mark.parametrize("size", [4, 200_000])
def test_rows_of_other_widths_are_errors_with_a_multibyte_delimiter(tmp_path, delimiter, size):
    rows = "".join(f"{i}{delimiter}{i % 5}\n" for i in range(size))
    path = tmp_path / "labels.csv"
    for bad_row, phrase in ((f"3{delimiter}3{delimiter}99", "the row has 3 fields but the header has 2"),
                            ("3", "the row has 1 fields but the header has 2")):
        path.write_bytes(f"a{delimiter}b\n{rows}{bad_row}\n{rows}".encode())
        with pytest.raises(data_files.InputError, match=f"line {size + 2}: {phrase}"):
            data_files.load_labels(str(path), "b", delimiter=delimiter)
    path.write_bytes(f"a{delimiter}b\n{rows}".encode())
    assert data_files.load_labels(str(path), "b", delimiter=delimiter).labels.tolist() == [i % 5 for i in range(size)]


@pytest.mark.parametrize("text", ["1\r\r\n2\r\r\n3\r\r\n", "1\n\n2\r3\n4\n5\n6\n7\n"])
@pytest.mark.parametrize("padding", [0, 300_000])  # the exact reader, and the fast one
def test_a_blank_line_made_by_a_lone_carriage_return_is_an_error(tmp_path, text, padding):
    # numpy reads a lone \r as a line end, and skips the blank lines it makes.
    assert "the label is empty" in csv_error(tmp_path, text + "4\n" * padding)


@pytest.mark.parametrize("text, column", [("a,b\n1,1\n2,2\n3,3\n,\n", "a"), ("a,b\n1,1\n,\n2,2\n", "b"),
                                          ("a,b\n1,1\n2,2\n" + "3,3\n" * 200_000 + ",\n", "a")])
def test_a_row_of_empty_cells_is_a_missing_label_not_a_blank_line(tmp_path, text, column):
    line = text.count("\n") if text.endswith(",\n") else 3
    assert f"line {line}: the label is empty" in csv_error(tmp_path, text, column)


def test_a_file_of_blank_lines_has_no_labels(tmp_path):
    assert "the file has no labels" in csv_error(tmp_path, "\n\n\n")
    assert "the file has no labels" in csv_error(tmp_path, "cluster\n\n\n")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("size", [4, 200_000])
def test_the_delimiter_is_detected_from_the_header(tmp_path, delimiter, size):
    rows = "".join(f"{i}{delimiter}{i % 5}{delimiter}x\n" for i in range(size))
    text = f"id{delimiter}kmeans{delimiter}note\n" + rows
    assert read_csv(tmp_path, text, "kmeans") == ([i % 5 for i in range(size)], "kmeans")


def test_a_named_delimiter_overrides_detection(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("a;b,c\n1;2\n4;5\n")  # detected: ',' (first in the list); named: ';'
    assert data_files.load_labels(str(path), "b,c", delimiter=";").labels.tolist() == [2, 5]
    assert data_files.load_labels(str(path), "a", delimiter=";").labels.tolist() == [1, 4]
    with pytest.raises(data_files.InputError, match="a;b"):  # split at ',' the header names 'a;b' and 'c'
        data_files.load_labels(str(path), "b,c")


def test_cli_delimiter_option_and_semicolon_files(tmp_path, capsys):
    text = "kmeans;truth\n" + "".join(f"{p};{t}\n" for p, t in zip(PREDS, TARGET))
    path = write_text(tmp_path, "labels.csv", text)
    status, out, err = run_cli(["score", path, path, "--preds-column", "kmeans", "--target-column", "truth"], capsys)
    assert status == 0, err
    assert float(out) == pytest.approx(EXPECTED, rel=1e-12)
    tabbed = write_text(tmp_path, "tabbed.txt", text.replace(";", "\t"))
    status, out, err = run_cli(["score", tabbed, tabbed, "--preds-column", "kmeans", "--target-column", "truth",
                                "--delimiter", "tab"], capsys)
    assert status == 0 and float(out) == pytest.approx(EXPECTED, rel=1e-12)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", path, path, "--preds-column", "kmeans", "--target-column", "truth", "--delimiter", ";;"])
    assert exit_info.value.code == 2 and "one character" in capsys.readouterr().err


def test_header_choice_per_file(tmp_path, capsys):
    # PREDS has a numeric header pandas wrote ("0"); TARGET has none: one --header would eat TARGET's first label.
    preds = write_text(tmp_path, "p.csv", "0\n" + "\n".join(map(str, PREDS)) + "\n")
    target = write_labels(tmp_path, "t.csv", TARGET)
    status, out, err = run_cli(["score", preds, target, "--preds-header", "yes", "--json"], capsys)
    assert status == 0, err
    values = json.loads(out)
    assert values["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12)
    assert (values["preds_header"], values["target_header"]) == ("0", None)
    status, out, err = run_cli(["score", preds, target, "--header", "--target-header", "no", "--json"], capsys)
    assert status == 0 and json.loads(out)["mutual_info_score"] == pytest.approx(EXPECTED, rel=1e-12)
    status, out, err = run_cli(["score", preds, target, "--header", "--json"], capsys)  # eats TARGET's first label
    assert_one_line_error(status, out, err, "PREDS has 300 labels but TARGET has 299")


def test_a_missing_column_names_the_delimiter_used(tmp_path):
    # A tab-separated file read with --delimiter ',' has one column 'kmeans<TAB>truth'.
    path = tmp_path / "labels.csv"
    path.write_text("kmeans\ttruth\n1\t2\n")
    with pytest.raises(data_files.InputError, match="fields split at ','"):
        data_files.load_labels(str(path), "kmeans", delimiter=",")
    assert data_files.load_labels(str(path), "truth").labels.tolist() == [2]  # detected: tabs
    with pytest.raises(data_files.InputError, match="fields split at tabs"):
        data_files.load_labels(str(path), "cluster")


# ---------------------------------------------------------------- confidence intervals


def _interval_files(tmp_path):
    rng = np.random.default_rng(21)
    preds = rng.integers(0, 5, 1500)
    target = np.where(rng.random(1500) < 0.6, preds, rng.integers(0, 5, 1500))
    return (write_labels(tmp_path, "p.npy", preds), write_labels(tmp_path, "t.npy", target)), preds, target


def test_bootstrap_prints_each_metric_with_its_interval(tmp_path, capsys):
    (p, t), preds, target = _interval_files(tmp_path)
    argv = ["score", p, t, "--metric", "adjusted_rand_score", "--metric", "rand_score", "--bootstrap", "300",
            "--seed", "5", "--confidence-level", "0.9"]
    status, out, err = run_cli(argv, capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["adjusted_rand_score", "rand_score"]
    name, value, level, ci, low, high = lines[0].split()
    assert float(value) == pytest.approx(sklearn_metrics.adjusted_rand_score(target, preds), rel=1e-13)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        expected = clustering_metrics.bootstrap_scores(torch.from_numpy(preds), torch.from_numpy(target),
                                                       "adjusted_rand_score", 300, 0.9, seed=5)["adjusted_rand_score"]
    finally:
        torch.set_default_dtype(previous)
    assert (level, ci) == ("90%", "CI")
    assert float(low.strip("[,")) == float(expected.low) and float(high.strip("]")) == float(expected.high)
    assert run_cli(argv, capsys)[1] == out  # the same seed, the same interval


def test_bootstrap_json_names_the_seed_it_drew(tmp_path, capsys):
    (p, t), _, _ = _interval_files(tmp_path)
    status, out, _ = run_cli(["score", p, t, "--metric", "all", "--bootstrap", "50", "--bootstrap-method", "bca",
                              "--json"], capsys)
    result = json.loads(out)
    assert status == 0
    assert set(result["confidence_intervals"]) == set(cli.METRIC_NAMES)  # the nine and cluster_accuracy
    assert result["bootstrap"]["method"] == "bca" and result["bootstrap"]["resamples"] == 50
    for name, (low, high) in result["confidence_intervals"].items():
        assert low <= high, name
    seed = str(result["bootstrap"]["seed"])
    again = json.loads(run_cli(["score", p, t, "--metric", "all", "--bootstrap", "50", "--bootstrap-method", "bca",
                                "--json", "--seed", seed], capsys)[1])
    assert again["confidence_intervals"] == result["confidence_intervals"]


@pytest.mark.parametrize("options, phrase", [
    (["--bootstrap", "0"], "expected an integer in [1, 2^24], got 0"),
    (["--bootstrap", "ten"], "expected an integer in [1, 2^24], got ten"),
    (["--bootstrap", str(2**24 + 1)], "expected an integer in [1, 2^24], got 16777217"),
    (["--bootstrap", "9", "--confidence-level", "95"], "expected a number in (0, 1), got 95"),
    (["--bootstrap", "9", "--seed", "-4"], "expected an integer in [0, 2^63), got -4"),
])
def test_bootstrap_usage_errors(tmp_path, capsys, options, phrase):
    (p, t), _, _ = _interval_files(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", p, t, *options])
    assert exit_info.value.code == 2 and phrase in capsys.readouterr().err


@pytest.mark.parametrize("options, phrase", [
    (["--seed", "3"], "--seed needs --bootstrap B"),
    (["--confidence-level", "0.9", "--bootstrap-method", "bca"], "--confidence-level, --bootstrap-method need"),
])
def test_bootstrap_options_without_bootstrap_are_errors(tmp_path, capsys, options, phrase):
    (p, t), _, _ = _interval_files(tmp_path)
    status, out, err = run_cli(["score", p, t, *options], capsys)
    assert_one_line_error(status, out, err, phrase)


def _strict_json(text):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_has_null_for_values_json_cannot_hold_and_warnings_are_one_line(tmp_path, capsys):
    # Every point on its centroid: the Dunn index is infinite.
    points = write_embeddings(tmp_path, "x.npy", np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))
    labels = write_labels(tmp_path, "y.npy", np.array([0, 0, 1, 1]))
    status, out, err = run_cli(["intrinsic", points, labels, "--metric", "dunn_index", "--json"], capsys)
    assert status == 0 and _strict_json(out)["dunn_index"] is None
    # Two resamples, both on one side of the value: BCa cannot place the interval (NaN ends, with a warning).
    preds = write_labels(tmp_path, "p.npy", np.array([0, 0, 1, 1, 2, 2, 0, 1]))
    target = write_labels(tmp_path, "t.npy", np.array([0, 1, 1, 0, 2, 2, 1, 1]))
    options = ["--bootstrap", "2", "--seed", "3", "--bootstrap-method", "bca"]
    status, out, err = run_cli(["score", preds, target, *options, "--json"], capsys)
    assert status == 0 and _strict_json(out)["confidence_intervals"]["mutual_info_score"] == [None, None]
    assert err.splitlines() == [
        "clustering-metrics: warning: bootstrap of mutual_info_score: the resamples cannot place the interval "
        "(every resample on one side of the value, or a resample without a finite score); its ends are NaN."]
    status, out, err = run_cli(["score", preds, target, *options], capsys)
    assert status == 0 and out.endswith("95% CI [nan, nan]\n") and len(err.splitlines()) == 1


def test_confidence_level_is_printed_with_its_digits(tmp_path, capsys):
    preds = write_labels(tmp_path, "p.npy", PREDS)
    status, out, err = run_cli(["score", preds, write_labels(tmp_path, "t.npy", TARGET), "--bootstrap", "20",
                                "--seed", "0", "--confidence-level", "0.9999999"], capsys)
    assert status == 0 and " 99.99999% CI [" in out


def test_text_file_options_on_binary_files_are_errors(tmp_path, capsys):
    preds, target = write_labels(tmp_path, "p.npy", PREDS), write_labels(tmp_path, "t.pt", TARGET)
    text = write_labels(tmp_path, "t.csv", TARGET, header="truth")
    for options, phrase in ((["--column", "nosuch"], "--column applies to .csv/.txt files only, and PREDS is a .npy"),
                            (["--preds-column", "k"], "--preds-column applies"),
                            (["--target-header", "yes"], "--target-header applies"),
                            (["--no-header"], "--no-header applies"), (["--delimiter", ";"], "--delimiter applies")):
        status, out, err = run_cli(["score", preds, target, *options], capsys)
        assert_one_line_error(status, out, err, phrase)
    # An option that applies to one of the two files is used there.
    status, out, err = run_cli(["score", preds, text, "--column", "truth"], capsys)
    assert status == 0 and float(out) == pytest.approx(EXPECTED, rel=1e-12)
    points = write_embeddings(tmp_path, "x.npy", RNG.normal(size=(len(PREDS), 2)))
    status, out, err = run_cli(["intrinsic", points, preds, "--labels-column", "k"], capsys)
    assert_one_line_error(status, out, err, "--labels-column applies to .csv/.txt files only, and LABELS is a .npy")
    # A file that cannot be read is reported first.
    status, out, err = run_cli(["score", str(tmp_path / "absent.npy"), target, "--column", "k"], capsys)
    assert_one_line_error(status, out, err, "absent.npy: no such file")
    tsv = write_text(tmp_path, "a.tsv", "1\n2\n")
    status, out, err = run_cli(["score", tsv, tsv, "--delimiter", "tab"], capsys)
    assert_one_line_error(status, out, err, "unknown format '.tsv'")


def test_an_empty_warning_is_one_line(capsys):
    cli._show_warning(UserWarning(""), UserWarning, "f.py", 1)
    assert capsys.readouterr().err == "clustering-metrics: warning: UserWarning\n"


def test_demo_seed_out_of_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--seed", str(2**70)])
    assert exit_info.value.code == 2 and "expected an integer in [0, 2^63)" in capsys.readouterr().err


def test_bootstrap_gives_cluster_accuracy_an_interval_from_the_same_resamples(tmp_path, capsys):
    (p, t), preds, target = _interval_files(tmp_path)
    status, out, err = run_cli(["score", p, t, "--metric", "all", "--bootstrap", "40", "--seed", "2", "--json"],
                               capsys)
    result = json.loads(out)
    assert status == 0 and list(result["confidence_intervals"])[-1] == "cluster_accuracy"
    low, high = result["confidence_intervals"]["cluster_accuracy"]
    table = sklearn_metrics.cluster.contingency_matrix(target, preds)
    assert low <= table.max(axis=0).sum() / len(preds) + 0.05 and low <= high
    alone = json.loads(run_cli(["score", p, t, "--metric", "cluster_accuracy", "--bootstrap", "40", "--seed", "2",
                                "--json"], capsys)[1])
    assert alone["confidence_intervals"]["cluster_accuracy"] == [low, high]
