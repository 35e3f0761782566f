"""The ``clustering-metrics`` command (also ``python -m clustering_metrics``).

Bad input is reported as one line on stderr with a non-zero exit status,
never as a traceback: the user of a command line wants to know what to fix
in their files, not where in this package the problem was noticed.
"""

import argparse
import json
import math
import os
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from clustering_metrics import _build_info, formulas, functional, ops
from clustering_metrics.formulas.information import AVERAGE_METHODS
from clustering_metrics.functional import check_beta, check_cluster_labels
from clustering_metrics.data_files import EMBEDDING_FORMATS, FORMATS, InputError, load_embeddings, load_labels
from clustering_metrics.formulas.assignment import cluster_accuracy_of_cells
from clustering_metrics.resampling import (
    BOOTSTRAP_METHODS,
    bootstrap_cluster_accuracy,
    bootstrap_histogram,
    check_bootstrap_arguments,
)
from clustering_metrics.summary import contingency_summary

PROG = "clustering-metrics"
EXIT_INPUT_ERROR = 1
DESCRIPTION = "Exact clustering-comparison metrics between two clusterings, computed by compiled PyTorch ops."
# The summary's metrics, then the cluster accuracy, which needs the table's cells.
METRIC_NAMES = tuple(formulas.METRICS) + ("cluster_accuracy",)
INTRINSIC_NAMES = ("calinski_harabasz_score", "davies_bouldin_score", "dunn_index", "silhouette_score")
# The metrics the intrinsic command prints by default: the silhouette costs O(n^2 d), so only when asked.
DEFAULT_INTRINSIC = INTRINSIC_NAMES[:3]
SCORE_DESCRIPTION = f"""\
Print metrics comparing two clusterings; by default the mutual information
score MI(PREDS, TARGET), in nats:

  MI = sum_ij (n_ij / N) log(N n_ij / (a_i b_j))

where n_ij counts the samples labelled i in PREDS and j in TARGET, and a_i, b_j
are the cluster sizes. --metric NAME (repeatable, or --metric all) picks others:

  {chr(10).join('  ' + name for name in METRIC_NAMES).strip()}

All of them come from one histogram of the labels (the cluster accuracy solves
an exact assignment on its table). Each file holds one integer label per sample:

  .npy       a 1-D integer NumPy array (loaded without pickle)
  .pt        a dense 1-D integer torch tensor saved with torch.save (loaded with weights_only=True)
  .csv .txt  UTF-8 text (a byte-order mark is fine), one label per line: an integer with
             an optional sign and surrounding spaces. Floats ("2.0", "1e3"), values beyond
             64 bits, empty cells and blank lines among labels are errors (with their line).

Header lines of .csv and .txt files:
  - A file with several columns needs --column NAME; its first line is the header, and
    every row must have as many fields as it.
  - In a one-column file the first line is a header when it is a name: it starts with a
    letter or an underscore ("cluster", "_id"; not "nan" or "inf"). Any other first line
    is read as a label, and refused if it is not one ("0x10", "-"). --header makes it a
    header whatever it holds (pandas writes the header "0" for an unnamed Series),
    --no-header makes it a label; --preds-header and --target-header {{auto,yes,no}}
    decide for one file. Fields are split at the first of , ; tab | that the first
    line holds, or at --delimiter CHAR ('tab' for a tab). Blank lines at the end of a
    file are not labels.
  - --json reports the labels read from each file ("preds_labels_read",
    "target_labels_read") and its header ("preds_header", "target_header"; null
    where every line was a label).
"""
SCORE_EPILOG = f"""\
exit status: 0 on success, 1 for unusable input (one line on stderr), 2 for a usage error.

examples:
  {PROG} score preds.npy target.npy
  {PROG} score labels.csv labels.csv --preds-column kmeans --target-column truth
  {PROG} score preds.pt target.txt --json
  {PROG} score preds.csv target.csv --header    # header lines that are numbers, like pandas' "0"
  {PROG} score preds.npy target.npy --metric adjusted_rand_score --metric v_measure_score
  {PROG} score preds.npy target.npy --metric all --json
  {PROG} score preds.npy target.npy --device cuda
  {PROG} score preds.npy target.npy --metric adjusted_rand_score --bootstrap 1000 --seed 0
"""
INTRINSIC_DESCRIPTION = f"""\
Print intrinsic metrics of a clustering of embedded data: how well LABELS
separate the points of DATA. By default the Calinski-Harabasz score, the
Davies-Bouldin index and the Dunn index (torchmetrics' definition); the
silhouette, which compares every pair of points (O(n^2 d) time), only when
asked (--metric silhouette_score or --metric all):

  {chr(10).join('  ' + name for name in INTRINSIC_NAMES).strip()}

DATA holds one row per sample: a 2-D floating-point .npy array or .pt tensor.
LABELS holds one integer label per sample, as for the score command.
Everything is computed in float64 whatever DATA's dtype.
"""
INTRINSIC_EPILOG = f"""\
exit status: 0 on success, 1 for unusable input (one line on stderr), 2 for a usage error.

examples:
  {PROG} intrinsic embeddings.npy labels.npy
  {PROG} intrinsic embeddings.pt labels.csv --labels-column kmeans --metric all --json
  {PROG} intrinsic embeddings.npy labels.txt --metric dunn_index --p 1
"""
DEMO_DESCRIPTION = (
    "Score the two reference examples, then time a generated batch of labels against "
    "torchmetrics and scikit-learn (when installed). This is what runs with no arguments."
)


def _check_device(device: str) -> None:
    if device == "cuda":
        if not torch.cuda.is_available():
            raise InputError("--device cuda: torch sees no CUDA GPU on this machine")
        if not _build_info.WITH_CUDA:
            raise InputError("--device cuda: this build of clustering_metrics has no CUDA kernels")


def _refuse_unused_text_options(options: Sequence[Tuple[str, Any, Sequence[Tuple[str, str]]]]) -> None:
    """Refuses a .csv/.txt option given when none of the files it applies to is a .csv/.txt file.

    ``options`` holds (option, value, the files it applies to as (name, path)); None or False values were not given.
    """
    for option, value, files in options:
        if value is None or value is False:
            continue
        if not any(os.path.splitext(path)[1].lower() in (".csv", ".txt") for _, path in files):
            kinds = " and ".join(f"{name} is a {os.path.splitext(path)[1] or 'file without extension'} file"
                                 for name, path in files)
            raise InputError(f"{option} applies to .csv/.txt files only, and {kinds}")


def _header_option(header: Optional[bool]) -> Optional[str]:
    return None if header is None else "--header" if header else "--no-header"


def score(args: argparse.Namespace) -> None:
    _check_device(args.device)
    preds_file = load_labels(args.preds, args.preds_column or args.column,
                             _file_header(args.preds_header, args.header), args.delimiter)
    target_file = load_labels(args.target, args.target_column or args.column,
                              _file_header(args.target_header, args.header), args.delimiter)
    # After the reads, so that a missing or unknown file is reported as such.
    preds_path, target_path = ("PREDS", args.preds), ("TARGET", args.target)
    _refuse_unused_text_options([
        ("--column", args.column, [preds_path, target_path]),
        ("--preds-column", args.preds_column, [preds_path]),
        ("--target-column", args.target_column, [target_path]),
        ("--preds-header", args.preds_header != "auto", [preds_path]),
        ("--target-header", args.target_header != "auto", [target_path]),
        (_header_option(args.header), args.header is not None, [preds_path, target_path]),
        ("--delimiter", args.delimiter, [preds_path, target_path]),
    ])
    preds, target = preds_file.labels, target_file.labels
    if preds.numel() != target.numel():
        raise InputError(f"PREDS has {preds.numel()} labels but TARGET has {target.numel()}; they must match")
    if preds.numel() == 0:
        raise InputError("the files have no labels")
    preds, target = preds.to(args.device), target.to(args.device)
    check_cluster_labels(preds, target)
    names = requested_metrics(args.metric, METRIC_NAMES, ["mutual_info_score"])
    # What was read of each file: its labels, and the first line if it was a header.
    read = {"preds_labels_read": preds.numel(), "target_labels_read": target.numel(),
            "preds_header": preds_file.header, "target_header": target_file.header}
    if args.bootstrap is not None:
        score_with_intervals(args, preds, target, names, read)
        return
    given = [option for option, value in (("--confidence-level", args.confidence_level),
                                          ("--bootstrap-method", args.bootstrap_method), ("--seed", args.seed))
             if value is not None]
    if given:
        raise InputError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --bootstrap B")
    summary_names = [name for name in names if name in formulas.METRICS]
    summary = contingency_summary(preds, target, expected_mutual_info=formulas.needs_expected_mutual_info(names),
                                  mutual_info=formulas.needs_mutual_info(names))
    # The formulas' float64 results, not the functionals' default dtype: a
    # printed score should carry every digit that was computed.
    values = formulas.scores(summary, summary_names, args.average_method, args.beta)
    if "cluster_accuracy" in names:
        values["cluster_accuracy"] = cluster_accuracy_of_cells(*ops.pair_histogram(preds, target))
    values = {name: values[name].item() for name in names}
    print_values(values, {"n_samples": preds.numel(), **read} if args.json else None)


def score_with_intervals(args: argparse.Namespace, preds: torch.Tensor, target: torch.Tensor, names: List[str],
                         read: dict) -> None:
    """The score command with --bootstrap: each metric with its confidence interval."""
    level = 0.95 if args.confidence_level is None else args.confidence_level
    method = args.bootstrap_method or "percentile"
    seed = check_bootstrap_arguments(args.bootstrap, level, args.seed, method)
    pred_labels, target_labels, counts = ops.pair_histogram(preds, target)
    # In float64, as the plain score prints it.
    summary_names = [name for name in names if name in formulas.METRICS]
    intervals = {} if not summary_names else bootstrap_histogram(
        pred_labels, target_labels, counts,
        lambda summary: formulas.scores(summary, summary_names, args.average_method, args.beta),
        formulas.needs_expected_mutual_info(names), args.bootstrap, level, seed, method, torch.float64)
    if "cluster_accuracy" in names:  # the same resamples (the same seed), each with its own assignment
        intervals["cluster_accuracy"] = bootstrap_cluster_accuracy(pred_labels, target_labels, counts, args.bootstrap,
                                                                   level, seed, method, torch.float64)
    intervals = {name: intervals[name] for name in names}
    if args.json:
        print(_json({
            **{name: interval.value.item() for name, interval in intervals.items()},
            "confidence_intervals": {name: [interval.low.item(), interval.high.item()]
                                     for name, interval in intervals.items()},
            "standard_errors": {name: interval.standard_error.item() for name, interval in intervals.items()},
            "bootstrap": {"resamples": args.bootstrap, "confidence_level": level, "method": method, "seed": seed},
            "n_samples": preds.numel(), **read}))
        return
    width = max(map(len, names))
    level = f"{100 * level:.15g}%"  # 99.99999%, not :g's 100%
    for name, interval in intervals.items():
        print(f"{name:<{width}}  {interval.value.item()!r}  {level} CI [{interval.low.item()!r}, "
              f"{interval.high.item()!r}]")


def _json(value: Any) -> str:
    """One line of strict JSON, which has no NaN or infinity: those values are written as null."""

    def finite(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {key: finite(v) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [finite(v) for v in item]
        return item

    return json.dumps(finite(value), allow_nan=False)


def print_values(values: Dict[str, float], json_extra: Optional[dict]) -> None:
    """Bare values, one per line with its name when there are several; or, given json_extra, one JSON object."""
    if json_extra is not None:
        print(_json({**values, **json_extra}))
    elif len(values) == 1:
        print(repr(next(iter(values.values()))))
    else:
        width = max(map(len, values))
        for name, value in values.items():
            print(f"{name:<{width}}  {value!r}")


def intrinsic(args: argparse.Namespace) -> None:
    _check_device(args.device)
    data = load_embeddings(args.data)
    labels_file = load_labels(args.labels, args.labels_column, args.header, args.delimiter)
    labels_path = [("LABELS", args.labels)]
    _refuse_unused_text_options([("--labels-column", args.labels_column, labels_path),
                                 (_header_option(args.header), args.header is not None, labels_path),
                                 ("--delimiter", args.delimiter, labels_path)])
    labels = labels_file.labels
    if data.shape[0] != labels.numel():
        raise InputError(f"DATA has {data.shape[0]} rows but LABELS has {labels.numel()} labels; they must match")
    if labels.numel() == 0:
        raise InputError("the files have no samples")
    finite = torch.isfinite(data).all(dim=1)
    if not bool(finite.all()):
        row = int((~finite).nonzero()[0])
        raise InputError(f"{args.data}: row {row} has a value that is not finite ({data[row].tolist()[:4]}...)")
    data, labels = data.to(args.device), labels.to(args.device)
    names = requested_metrics(args.metric, INTRINSIC_NAMES, list(DEFAULT_INTRINSIC))
    compute = {
        "calinski_harabasz_score": lambda: functional.calinski_harabasz_score(data, labels),
        "davies_bouldin_score": lambda: functional.davies_bouldin_score(data, labels),
        "dunn_index": lambda: functional.dunn_index(data, labels, p=args.p),
        "silhouette_score": lambda: functional.silhouette_score(data, labels, metric=args.silhouette_metric),
    }
    # float64 results: a printed score should carry every digit that was computed.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        values = {name: compute[name]().item() for name in names}
    finally:
        torch.set_default_dtype(previous)
    extra = {"n_samples": labels.numel(), "dimensions": data.shape[1], "labels_header": labels_file.header}
    print_values(values, extra if args.json else None)


def requested_metrics(requested: Optional[List[str]], every: Sequence[str], default: List[str]) -> List[str]:
    """The --metric names in order, without repeats; ``all`` is every one; none given is the default."""
    if not requested:
        return default
    names: List[str] = []
    for name in requested:
        for expanded in every if name == "all" else (name,):
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


# --preds-header/--target-header: 'auto' defers to --header/--no-header, whose
# own default (None) is the rule that a first line is a header when it is a name.
_HEADER_CHOICES = {"auto": None, "yes": True, "no": False}


def _file_header(choice: str, shared: Optional[bool]) -> Optional[bool]:
    return shared if choice == "auto" else _HEADER_CHOICES[choice]


def _delimiter(text: str) -> str:
    delimiter = "\t" if text == "tab" else text
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise argparse.ArgumentTypeError(
            f"expected one character other than a quote or a line break, or 'tab'; got {text!r}")
    return delimiter


def _add_text_file_options(parser: argparse.ArgumentParser, files: str, header_default: str = "") -> None:
    """--header/--no-header and --delimiter, for the .csv/.txt label files of a command (``files`` names them)."""
    header_options = parser.add_mutually_exclusive_group()
    header_options.add_argument(
        "--header", dest="header", action="store_true",
        help=f"the first line of a one-column {files} file is a header, even a number{header_default}")
    header_options.add_argument(
        "--no-header", dest="header", action="store_false",
        help=f"every line of a one-column {files} file is a label")
    parser.add_argument("--delimiter", type=_delimiter, metavar="CHAR",
                        help="field delimiter of .csv/.txt files: one character, or 'tab' "
                        "(default: the first of , ; tab | that the first line holds)")
    # None: the default header rule (neither --header nor --no-header).
    parser.set_defaults(header=None)


def _number(convert: Callable[[str], Any], accept: Callable[[Any], bool], expected: str) -> Callable[[str], Any]:
    """An argparse type: the text converted, and kept when accepted; otherwise a usage error saying what was expected."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}") from None
        if not accept(value):  # NaN accepts nothing
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_positive_float = _number(float, lambda value: value > 0, "a positive number")
_positive_int = _number(int, lambda value: value > 0, "a positive integer")
_probability = _number(float, lambda value: 0 < value < 1, "a number in (0, 1)")
_seed = _number(int, lambda value: 0 <= value < 2**63, "an integer in [0, 2^63)")
_resamples = _number(int, lambda value: 1 <= value <= 2**24, "an integer in [1, 2^24]")


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
    _add_text_file_options(score_parser, ".csv/.txt", " (default: when it is a name)")
    for side in ("preds", "target"):
        score_parser.add_argument(
            f"--{side}-header", choices=tuple(_HEADER_CHOICES), default="auto",
            help=f"whether the first line of a one-column {side.upper()} file is a header "
            "(overrides --header/--no-header for that file; default: auto)")
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
        help='print {"<metric>": ..., "n_samples": N, "preds_labels_read": N, "target_labels_read": N, '
        '"preds_header": ..., "target_header": ...} with every requested metric instead of bare values',
    )
    score_parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to compute (default: cpu)")
    bootstrap_options = score_parser.add_argument_group("confidence intervals")
    bootstrap_options.add_argument(
        "--bootstrap", type=_resamples, metavar="B",
        help="also print each metric's bootstrap confidence interval, from B resamples of the samples")
    bootstrap_options.add_argument("--confidence-level", type=_probability, metavar="LEVEL",
                                   help="the intervals' confidence level, in (0, 1) (default: 0.95)")
    bootstrap_options.add_argument("--bootstrap-method", choices=BOOTSTRAP_METHODS,
                                   help="percentile, or bias-corrected and accelerated (default: percentile)")
    bootstrap_options.add_argument("--seed", type=_seed, default=None,
                                   help="seed of the resamples, in [0, 2^63) (default: a random one, which --json prints)")
    score_parser.set_defaults(handler=score)

    intrinsic_parser = commands.add_parser(
        "intrinsic",
        help="print intrinsic metrics of labels on embedded data (Calinski-Harabasz, Davies-Bouldin, Dunn, silhouette)",
        description=INTRINSIC_DESCRIPTION,
        epilog=INTRINSIC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    intrinsic_parser.add_argument("data", metavar="DATA", help=f"embedded points, one row a sample ({EMBEDDING_FORMATS})")
    intrinsic_parser.add_argument("labels", metavar="LABELS", help=f"their cluster labels ({FORMATS})")
    intrinsic_parser.add_argument("--labels-column", metavar="NAME", help="CSV column of LABELS (by header name)")
    _add_text_file_options(intrinsic_parser, "LABELS")
    intrinsic_parser.add_argument(
        "--metric", action="append", choices=INTRINSIC_NAMES + ("all",), metavar="NAME",
        help=f"a metric to print (repeatable; 'all' for every one; default: {', '.join(DEFAULT_INTRINSIC)})")
    intrinsic_parser.add_argument("--p", type=_positive_float, default=2.0, help="the Dunn index's p-norm (default: 2)")
    intrinsic_parser.add_argument("--silhouette-metric", choices=("euclidean", "sqeuclidean"), default="euclidean",
                                  help="the silhouette's distance (default: euclidean)")
    intrinsic_parser.add_argument("--json", action="store_true",
                                  help='print {"<metric>": ..., "n_samples": N, "dimensions": D, "labels_header": ...}')
    intrinsic_parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to compute (default: cpu)")
    intrinsic_parser.set_defaults(handler=intrinsic)

    demo_parser = commands.add_parser("demo", help="run the demo (the default)", description=DEMO_DESCRIPTION)
    demo_parser.add_argument("--samples", type=_positive_int, default=10_000_000, help="labels in the generated batch (default: 10^7)")
    demo_parser.add_argument("--clusters", type=_positive_int, default=1000, help="clusters a side (default: 1000)")
    demo_parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to compute (default: cpu)")
    demo_parser.add_argument("--seed", type=_seed, default=0,
                             help="random seed of the generated batch, in [0, 2^63) (default: 0)")
    demo_parser.set_defaults(handler=demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {(str(message).strip().splitlines() or [category.__name__])[0]}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (argparse exits by itself on usage errors)."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv or ["demo"])
    try:
        with warnings.catch_warnings():
            # A warning is one line, as errors are, not Python's file:line and source.
            warnings.showwarning = _show_warning
            args.handler(args)
    except InputError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (RuntimeError, ValueError) as err:
        # Checks in check_cluster_labels and in the C++ ops, phrased for a torch user.
        print(f"{PROG}: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0
