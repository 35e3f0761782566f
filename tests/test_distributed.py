"""MutualInfoScore under torch.distributed: every rank gets the single-process value on all data."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.metrics import mutual_info_score as sklearn_mi

from clustering_metrics import MutualInfoScore
from clustering_metrics.functional import bootstrap_scores, mutual_info_score

EXTREMES = torch.tensor([-(2**63), 2**63 - 1, -1, 0, 5], dtype=torch.int64)


def rank_batches(rank, world_size, bounded=False):
    """Very different amounts of data per rank; the last rank sees none.

    bounded: the same clusterings labelled 0 .. 4 and 0 .. 59, for metrics given label bounds.
    """
    generator = torch.Generator().manual_seed(100 + rank)
    sizes = [40_000, 7, 3_000, 0][:world_size]
    sizes[-1] = 0
    batches = []
    for size in (sizes[rank] // 2, sizes[rank] - sizes[rank] // 2):
        if size == 0:
            continue
        picks = torch.randint(0, len(EXTREMES), (size,), generator=generator)
        target = torch.randint(-30, 30, (size,), generator=generator)
        batches.append((picks, target + 30) if bounded else (EXTREMES[picks], target))
    return batches


def _worker(rank, world_size, backend, init_file, out_dir, bounded):
    dist.init_process_group(backend, init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    if backend == "nccl":
        torch.cuda.set_device(device)
    metric = (MutualInfoScore(num_pred_clusters=len(EXTREMES), num_target_clusters=60) if bounded else MutualInfoScore()).to(device)
    for preds, target in rank_batches(rank, world_size, bounded):
        metric.update(preds.to(device), target.to(device))
    value = metric.compute()
    torch.save(value.cpu(), os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def run_distributed(world_size, backend, tmp_path, bounded=False):
    init_file = tmp_path / "rendezvous"
    mp.spawn(_worker, args=(world_size, backend, str(init_file), str(tmp_path), bounded), nprocs=world_size, join=True)
    return [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(world_size)]


def expected_value(world_size):
    data = [batch for rank in range(world_size) for batch in rank_batches(rank, world_size)]
    preds = torch.cat([p for p, _ in data])
    target = torch.cat([t for _, t in data])
    value = mutual_info_score(preds, target)
    assert value.item() == pytest.approx(sklearn_mi(preds.numpy(), target.numpy()), rel=1e-6)
    return value


@pytest.mark.parametrize("world_size", [2, 4])
def test_gloo_ranks_agree_with_one_process(world_size, tmp_path):
    values = run_distributed(world_size, "gloo", tmp_path)
    expected = expected_value(world_size)
    for value in values:
        assert torch.equal(value, expected)


def test_gloo_ranks_with_label_bounds_sum_their_tables(tmp_path):
    values = run_distributed(3, "gloo", tmp_path, bounded=True)
    expected = expected_value(3)  # the same clusterings under other labels: the same MI
    for value in values:
        assert value.item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL needs two GPUs")
def test_nccl_ranks_agree_with_one_process(tmp_path):
    values = run_distributed(2, "nccl", tmp_path)
    expected = expected_value(2)
    for value in values:
        assert value.item() == pytest.approx(expected.item(), rel=1e-12)


def _mismatched_bounds_worker(rank, world_size, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    # Both tables have 5 x 6 + 1 entries; only their bounds differ.
    bounds = (5, 6) if rank == 0 else (6, 5)
    metric = MutualInfoScore(num_pred_clusters=bounds[0], num_target_clusters=bounds[1])
    metric.update(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]))
    try:
        metric.compute()
        outcome = "computed"
    except ValueError as err:
        outcome = str(err)
    with open(os.path.join(out_dir, f"rank{rank}.txt"), "w") as f:
        f.write(outcome)
    dist.destroy_process_group()


def test_gloo_ranks_with_other_bounds_refuse_to_sum_their_tables(tmp_path):
    mp.spawn(_mismatched_bounds_worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        outcome = (tmp_path / f"rank{rank}.txt").read_text()
        assert "different label bounds (label bounds (5, 6), label bounds (6, 5))" in outcome, outcome


def _bootstrap_worker(rank, world_size, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    metric = MutualInfoScore()
    for preds, target in rank_batches(rank, world_size):
        metric.update(preds, target)
    interval = metric.bootstrap(num_resamples=40, seed=7)
    torch.save(interval.replicates, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def test_gloo_ranks_bootstrap_everything_seen_on_every_rank(tmp_path):
    # Each rank resamples the synced histogram: the single process's resamples of all the data.
    mp.spawn(_bootstrap_worker, args=(3, str(tmp_path / "rendezvous"), str(tmp_path)), nprocs=3, join=True)
    data = [batch for rank in range(3) for batch in rank_batches(rank, 3)]
    preds, target = torch.cat([p for p, _ in data]), torch.cat([t for _, t in data])
    expected = bootstrap_scores(preds, target, "mutual_info_score", num_resamples=40, seed=7)["mutual_info_score"]
    for rank in range(3):
        assert torch.equal(torch.load(tmp_path / f"rank{rank}.pt"), expected.replicates)
