"""Time and peak memory of `clustering-metrics score` on two large CSV files.

    python benchmarks/cli_csv.py [--samples 10000000] [--clusters 1000] [--cli-file PATH]

Writes two CSV files of random integer labels (one a line, no header) to a
temporary directory, runs `python -m clustering_metrics score a.csv b.csv --json`
in a child process, and reports its wall time and peak RSS against the files'
size and the labels' int64 bytes. The extra memory is the child's peak RSS minus
that of a child that only imports clustering_metrics; the target is at most
twice the labels' int64 bytes. The same command on .npy copies of the labels is
the reference: what the metric itself takes once the labels are in memory.

The baseline child leaves with os._exit(0) right after the import: a normal
exit after importing torch briefly takes about 110 MB more than the import
itself (module teardown), and a baseline peak that includes it would hide that
much of the extra memory. Both import children are in the table.

--cli-file runs main() of another copy of cli.py in the children instead, to
measure an older version against this one:

    git show HEAD~1:clustering_metrics/cli.py > /tmp/old_cli.py
    python benchmarks/cli_csv.py --cli-file /tmp/old_cli.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# Runs main() of the cli.py named by argv[1] with the arguments after it.
RUN_CLI_FILE = (
    "import importlib.util, sys; "
    "spec = importlib.util.spec_from_file_location('cli_under_test', sys.argv[1]); "
    "cli = importlib.util.module_from_spec(spec); spec.loader.exec_module(cli); "
    "sys.exit(cli.main(sys.argv[2:]))"
)
MB = 1 << 20
BASELINE = "import clustering_metrics; os._exit(0)"


def run_child(command):
    """Wall seconds, peak RSS in bytes and stdout of one child process.

    os.wait4 gives the child's own rusage; getrusage(RUSAGE_CHILDREN) would be
    the largest of all children so far.
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with status {child.returncode}:\n{output}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    return seconds, usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024), output


def score_command(cli_file, *args):
    if cli_file:
        return [sys.executable, "-c", RUN_CLI_FILE, cli_file, "score", *args, "--json"]
    return [sys.executable, "-m", "clustering_metrics", "score", *args, "--json"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000_000, help="labels in each file (default: 10^7)")
    parser.add_argument("--clusters", type=int, default=1000, help="clusters a side (default: 1000)")
    parser.add_argument("--cli-file", help="a cli.py whose main() the children run (default: the installed package's)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as directory:
        paths = {}
        for name in ("a", "b"):
            labels = rng.integers(0, args.clusters, size=args.samples)
            paths[name, ".csv"] = os.path.join(directory, f"{name}.csv")
            paths[name, ".npy"] = os.path.join(directory, f"{name}.npy")
            np.savetxt(paths[name, ".csv"], labels, fmt="%d")
            np.save(paths[name, ".npy"], labels)
        csv_bytes = sum(os.path.getsize(paths[name, ".csv"]) for name in "ab")
        label_bytes = 2 * args.samples * 8

        runs = {
            BASELINE: [sys.executable, "-c", "import os, clustering_metrics; os._exit(0)"],
            "import clustering_metrics (normal exit)": [sys.executable, "-c", "import clustering_metrics"],
            "score a.npy b.npy --json": score_command(args.cli_file, paths["a", ".npy"], paths["b", ".npy"]),
            "score a.csv b.csv --json": score_command(args.cli_file, paths["a", ".csv"], paths["b", ".csv"]),
        }
        results = {name: run_child(command) for name, command in runs.items()}

    _, baseline_rss, _ = results[BASELINE]
    print(f"cli: {args.cli_file or 'clustering_metrics (installed)'}")
    print(f"two files of {args.samples:,} labels ({args.clusters} clusters): CSV {csv_bytes / MB:,.0f} MB in all, "
          f"labels as int64 {label_bytes / MB:,.0f} MB in all")
    print()
    print("| child | wall s | peak RSS MB | extra over import MB | extra / CSV bytes | extra / int64 bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (seconds, rss, _) in results.items():
        extra = rss - baseline_rss
        print(f"| {name} | {seconds:.1f} | {rss / MB:,.0f} | {extra / MB:,.0f} | "
              f"{extra / csv_bytes:.2f}x | {extra / label_bytes:.2f}x |")
    print()

    npy_scores = json.loads(results["score a.npy b.npy --json"][2])
    csv_scores = json.loads(results["score a.csv b.csv --json"][2])
    same = csv_scores["mutual_info_score"] == npy_scores["mutual_info_score"]
    print(f"the CSV and .npy runs' scores {'agree' if same else 'DIFFER'}: {csv_scores}")
    csv_extra = results["score a.csv b.csv --json"][1] - baseline_rss
    verdict = "PASS" if csv_extra <= 2 * label_bytes else "FAIL"
    print(f"{verdict}: peak extra memory of the CSV run {csv_extra / MB:,.0f} MB <= 2x the labels' int64 bytes "
          f"({2 * label_bytes / MB:,.0f} MB)")


if __name__ == "__main__":
    main()
