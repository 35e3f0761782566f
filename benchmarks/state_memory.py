"""Metric state after one epoch: our histogram state against torchmetrics' stored labels.

    python benchmarks/state_memory.py [--samples 10000000] [--batch 100000] [--clusters 10,1000]

Feeds the same batches to both metrics with update() and reports the bytes
held in each metric's state tensors at the end of the epoch.
"""

import argparse

import torch
from torchmetrics.clustering import MutualInfoScore as TorchmetricsMutualInfoScore

from clustering_metrics import MutualInfoScore


def state_bytes(metric):
    total = 0
    for name in metric._defaults:
        value = getattr(metric, name)
        for tensor in value if isinstance(value, list) else [value]:
            total += tensor.numel() * tensor.element_size()
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--clusters", default="10,1000")
    args = parser.parse_args()
    print("| clusters a side | labels seen | clustering_metrics state | torchmetrics state | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for clusters in (int(k) for k in args.clusters.split(",")):
        generator = torch.Generator().manual_seed(clusters)
        ours, theirs = MutualInfoScore(), TorchmetricsMutualInfoScore()
        for _ in range(args.samples // args.batch):
            preds = torch.randint(0, clusters, (args.batch,), generator=generator)
            target = torch.randint(0, clusters, (args.batch,), generator=generator)
            ours.update(preds, target)
            theirs.update(preds, target)
        mine, peer = state_bytes(ours), state_bytes(theirs)
        print(f"| {clusters} | {args.samples:,} | {mine:,} B | {peer:,} B | {peer / mine:,.0f}x |")


if __name__ == "__main__":
    main()
