"""The README's demo: the two reference examples and a generated batch of 10^7 labels."""

import time
import warnings
from typing import Callable, Optional

import torch

from clustering_metrics.functional import mutual_info_score

EXAMPLES = (
    ([2, 1, 0, 1, 0], [0, 2, 1, 1, 0]),
    ([1, 3, 2, 0, 1], [0, 3, 2, 2, 1]),
)


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _peer(name: str) -> Optional[Callable]:
    try:
        if name == "torchmetrics":
            from torchmetrics.functional.clustering import mutual_info_score as tm_peer

            def peer(p, t):
                with warnings.catch_warnings():
                    # torchmetrics' own sparse-tensor construction warns on every call.
                    warnings.simplefilter("ignore", UserWarning)
                    return tm_peer(p, t)

            return peer
        from sklearn.metrics import mutual_info_score as sk_peer

        return lambda p, t: sk_peer(p.numpy(), t.numpy())
    except ImportError:
        return None


def run(num_samples: int = 10_000_000, num_clusters: int = 1000, device: str = "cpu", seed: int = 0) -> None:
    print("clustering_metrics demo")
    for preds, target in EXAMPLES:
        value = mutual_info_score(torch.tensor(preds, device=device), torch.tensor(target, device=device))
        print(f"  preds={preds} target={target}  MI = {value.item():.4f}")

    generator = torch.Generator().manual_seed(seed)
    preds = torch.randint(0, num_clusters, (num_samples,), generator=generator).to(device)
    target = torch.randint(0, num_clusters, (num_samples,), generator=generator).to(device)
    print(f"\n  generated batch: N={num_samples:,} int64 labels, {num_clusters} clusters a side, device={device}")

    def ours():
        value = mutual_info_score(preds, target)
        if value.is_cuda:
            torch.cuda.synchronize()
        return value

    value = ours()
    ours_s = _best_time(ours, repeats=5)
    # Eight decimals: about what a float32 result (ours, torchmetrics) carries here.
    print(f"  clustering_metrics  MI = {value.item():.8f}  time {ours_s * 1e3:9.1f} ms")
    cpu_preds, cpu_target = preds.cpu(), target.cpu()
    for name in ("torchmetrics", "scikit-learn"):
        peer = _peer(name)
        if peer is None:
            print(f"  {name:<19} not installed")
            continue
        peer_value = float(peer(cpu_preds, cpu_target))
        peer_s = _best_time(lambda: peer(cpu_preds, cpu_target), repeats=1)
        print(
            f"  {name:<19} MI = {peer_value:.8f}  time {peer_s * 1e3:9.1f} ms"
            f"  ({peer_s / ours_s:.0f}x slower, on cpu)"
        )


if __name__ == "__main__":
    run()
