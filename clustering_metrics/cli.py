"""The ``clustering-metrics`` command (also ``python -m clustering_metrics``).

Bad input is reported as one line on stderr with a non-zero exit status,
never as a traceback: the user of a command line wants to know what to fix
in their files, not where in this package the problem was noticed.
"""

import argparse
import csv
import json
import os
import sys
from typing import List, Optional

import torch

from clustering_metrics import _build_info, formulas
from clustering_metrics.formulas.information import AVERAGE_METHODS
from clustering_metrics.functional import check_beta, check_cluster_labels
from clustering_metrics.summary import contingency_summary

PROG = "clustering-metrics"
FORMATS = ".npy, .pt, .csv or .txt"
EXIT_INPUT_ERROR = 1
NPY_MAGIC = b"\x93NUMPY"

DESCRIPTION = "Exact clustering-comparison metrics between two clusterings, computed by compiled PyTorch ops."
METRIC_NAMES = tuple(formulas.METRICS)
SCORE_DESCRIPTION = f"""\
Print metrics comparing two clusterings; by default the mutual information
score MI(PREDS, TARGET), in nats:

  MI = sum_ij (n_ij / N) log(N n_ij / (a_i b_j))

where n_ij counts the samples labelled i in PREDS and j in TARGET, and a_i, b_j
are the cluster sizes. --metric NAME (repeatable, or --metric all) picks others:

  {chr(10).join('  ' + name for name in METRIC_NAMES).strip()}

All of them come from one histogram of the labels. Each file holds one integer
label per sample:

  .npy       a 1-D integer NumPy array (loaded without pickle)
  .pt        a 1-D integer torch tensor saved with torch.save (loaded with weights_only=True)
  .csv .txt  one label per line, with or without a header line; for a file with
             several columns, name the column with --column (the first line is then the header)
"""
SCORE_EPILOG = f"""\
exit status: 0 on success, 1 for unusable input (one line on stderr), 2 for a usage error.

examples:
  {PROG} score preds.npy target.npy
  {PROG} score labels.csv labels.csv --preds-column kmeans --target-column truth
  {PROG} score preds.pt target.txt --json
  {PROG} score preds.npy target.npy --metric adjusted_rand_score --metric v_measure_score
  {PROG} score preds.npy target.npy --metric all --json
  {PROG} score preds.npy target.npy --device cuda
"""
DEMO_DESCRIPTION = (
    "Score the two reference examples, then time a generated batch of labels against "
    "torchmetrics and scikit-learn (when installed). This is what runs with no arguments."
)


class InputError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def _csv_label(text: str, path: str, line_number: int) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        float(text)
    except ValueError:
        raise InputError(f"{path}, line {line_number}: {text!r} is not an integer label") from None
    raise InputError(f"{path}, line {line_number}: {text!r} is a float; cluster labels must be integers")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path: str, column: Optional[str]) -> torch.Tensor:
    with open(path, newline="") as f:
        rows = [(number, [cell.strip() for cell in row]) for number, row in enumerate(csv.reader(f), start=1)]
    rows = [(number, row) for number, row in rows if any(row)]
    if not rows:
        raise InputError(f"{path}: the file has no labels")
    if column is not None:
        header = rows[0][1]
        if column not in header:
            raise InputError(f"{path}: no column {column!r} in the header (columns: {', '.join(header)})")
        index = header.index(column)
        body = rows[1:]
    else:
        widths = {len(row) for _, row in rows}
        if widths != {1}:
            raise InputError(f"{path}: the file has {max(widths)} columns; choose one with --column NAME")
        index = 0
        # A single column may start with a header line: a name is not a number.
        body = rows[1:] if not _is_number(rows[0][1][0]) else rows
    values = []
    for number, row in body:
        if index >= len(row):
            raise InputError(f"{path}, line {number}: the row has no column {column!r}")
        values.append(_csv_label(row[index], path, number))
    try:
        return torch.tensor(values, dtype=torch.int64)
    except RuntimeError:
        raise InputError(f"{path}: a label does not fit in a 64-bit integer") from None


def _load_npy(path: str) -> torch.Tensor:
    try:
        import numpy as np  # an optional dependency of the package, needed only here
    except ImportError:
        raise InputError(f"{path}: reading .npy files needs numpy (pip install numpy)") from None
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise InputError(f"{path}: not a .npy file (write one with numpy.save)")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array of labels ({str(err).splitlines()[0]})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path}: expected a single array, not an .npz archive")
    if array.dtype.kind not in "biu":
        raise InputError(f"{path}: labels have dtype {array.dtype}; cluster labels must be integers")
    # torch.from_numpy takes only native byte order.
    return torch.from_numpy(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")))


def _load_pt(path: str) -> torch.Tensor:
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises many types (pickle, zip, weights_only refusals)
        raise InputError(f"{path}: not a readable torch file ({str(err).splitlines()[0]})") from None
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{path}: expected a saved tensor but found a {type(value).__name__}")
    if value.is_floating_point() or value.is_complex():
        raise InputError(f"{path}: labels have dtype {value.dtype}; cluster labels must be integers")
    return value


def load_labels(path: str, column: Optional[str] = None) -> torch.Tensor:
    """Read one file of cluster labels into a CPU tensor, raising InputError for anything unusable."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".npy", ".pt", ".csv", ".txt"):
        raise InputError(f"{path}: unknown format {extension or '(no extension)'!r}; expected {FORMATS}")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    try:
        if extension == ".npy":
            labels = _load_npy(path)
        elif extension == ".pt":
            labels = _load_pt(path)
        else:
            labels = _load_csv(path, column)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: cannot read the file ({err})") from None
    if labels.ndim != 1:
        raise InputError(f"{path}: labels must be 1-D but have shape {tuple(labels.shape)}")
    return labels


def _check_device(device: str) -> None:
    if device == "cuda":
        if not torch.cuda.is_available():
            raise InputError("--device cuda: torch sees no CUDA GPU on this machine")
        if not _build_info.WITH_CUDA:
            raise InputError("--device cuda: this build of clustering_metrics has no CUDA kernels")


def score(args: argparse.Namespace) -> None:
    _check_device(args.device)
    preds = load_labels(args.preds, args.preds_column or args.column)
    target = load_labels(args.target, args.target_column or args.column)
    if preds.numel() != target.numel():
        raise InputError(f"PREDS has {preds.numel()} labels but TARGET has {target.numel()}; they must match")
    if preds.numel() == 0:
        raise InputError("the files have no labels")
    preds, target = preds.to(args.device), target.to(args.device)
    check_cluster_labels(preds, target)
    names = requested_metrics(args.metric)
    summary = contingency_summary(preds, target, expected_mutual_info=formulas.needs_expected_mutual_info(names))
    # The formulas' float64 results, not the functionals' default dtype: a
    # printed score should carry every digit that was computed.
    values = {name: value.item() for name, value in formulas.scores(summary, names, args.average_method, args.beta).items()}
    if args.json:
        print(json.dumps({**values, "n_samples": preds.numel()}))
    elif len(values) == 1:
        print(repr(next(iter(values.values()))))
    else:
        width = max(map(len, values))
        for name, value in values.items():
            print(f"{name:<{width}}  {value!r}")


def requested_metrics(requested: Optional[List[str]]) -> List[str]:
    """The --metric names in order, without repeats; ``all`` is every metric; none given is the MI."""
    if not requested:
        return ["mutual_info_score"]
    names: List[str] = []
    for name in requested:
        for expanded in METRIC_NAMES if name == "all" else (name,):
            if expanded not in names:
                names.append(expanded)
    return names


def _beta(text: str) -> float:
    try:
        value = float(text)
        check_beta(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}") from None
    return value


def demo(args: argparse.Namespace) -> None:
    from clustering_metrics.demo import run

    _check_device(args.device)
    run(num_samples=args.samples, num_clusters=args.clusters, device=args.device, seed=args.seed)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=f"Run '{PROG} COMMAND --help' for a command's options. With no command, runs the demo.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    score_parser = commands.add_parser(
        "score",
        help="print metrics comparing two label files (default: the mutual information)",
        description=SCORE_DESCRIPTION,
        epilog=SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score_parser.add_argument("preds", metavar="PREDS", help=f"predicted cluster labels ({FORMATS})")
    score_parser.add_argument("target", metavar="TARGET", help=f"reference cluster labels ({FORMATS})")
    score_parser.add_argument("--column", metavar="NAME", help="CSV column to read from both files (by header name)")
    score_parser.add_argument("--preds-column", metavar="NAME", help="CSV column of PREDS (overrides --column)")
    score_parser.add_argument("--target-column", metavar="NAME", help="CSV column of TARGET (overrides --column)")
    score_parser.add_argument(
        "--metric",
        action="append",
        choices=METRIC_NAMES + ("all",),
        metavar="NAME",
        help="a metric to print (repeatable; 'all' for every one; default: mutual_info_score)",
    )
    score_parser.add_argument(
        "--average-method",
        choices=AVERAGE_METHODS,
        default="arithmetic",
        help="mean of the two entropies for the normalized and adjusted MI (default: arithmetic)",
    )
    score_parser.add_argument("--beta", type=_beta, default=1.0, help="weight of homogeneity in the V-measure (default: 1)")
    score_parser.add_argument(
        "--json",
        action="store_true",
        help='print {"<metric>": ..., "n_samples": ...} with every requested metric instead of bare values',
    )
    score_parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to compute (default: cpu)")
    score_parser.set_defaults(handler=score)

    demo_parser = commands.add_parser("demo", help="run the demo (the default)", description=DEMO_DESCRIPTION)
    demo_parser.add_argument("--samples", type=_positive_int, default=10_000_000, help="labels in the generated batch (default: 10^7)")
    demo_parser.add_argument("--clusters", type=_positive_int, default=1000, help="clusters a side (default: 1000)")
    demo_parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to compute (default: cpu)")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed of the generated batch (default: 0)")
    demo_parser.set_defaults(handler=demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (argparse exits by itself on usage errors)."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv or ["demo"])
    try:
        args.handler(args)
    except InputError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (RuntimeError, ValueError) as err:
        # Checks in check_cluster_labels and in the C++ ops, phrased for a torch user.
        print(f"{PROG}: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
