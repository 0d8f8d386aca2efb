"""Two decoding probes of issue 13's ladder (docs/RESULTS.md), kept so their figures rerun.

    python -m benchmarks.probe_decoding symmetry --checkpoint sudoku9 --limit 100 --ensembles 1,4
    python -m benchmarks.probe_decoding carry --checkpoint runs/sudoku9-carry2-cpu/checkpoints/last.ckpt --limit 64

`symmetry`: at every step average the model's per-cell probabilities over K random grid
symmetries of the board (the identity among them), commit the most confident cell; on the
held-out test split. `carry`: a carry_state training checkpoint decoded with its state carried
(the sampler's default) and without it (the same weights in a model built with
carry_state=False), on the validation split. Sudoku 9x9 only; one thread.
"""

from __future__ import annotations

import argparse
import time

import torch

from solver.augment import random_cell_permutations, random_digit_permutations
from solver.data import encode_records, read_manifest, read_records
from solver.guided import check_batch
from solver.sampler import SampleOptions, sample


def symmetry_decode(net, tokens: torch.Tensor, frozen: torch.Tensor, k: int, box: int = 3, seed: int = 0) -> torch.Tensor:
    """One cell per step, most confident first, from probabilities averaged over k symmetries: (B, T) -> (B, T)."""
    batch, cells_n = tokens.shape
    n = box * box
    g = torch.Generator().manual_seed(seed)
    cells = random_cell_permutations(batch * k, box, box, g)  # (BK, T): moved = board[cells]
    digits = random_digit_permutations(batch * k, n, g)  # (BK, n+1)
    cells.view(batch, k, cells_n)[:, 0] = torch.arange(cells_n)  # the first view is the board itself
    digits.view(batch, k, n + 1)[:, 0] = torch.arange(n + 1)
    back = cells.argsort(1)
    tokens = tokens.clone()
    masked = (tokens == 0) & ~frozen
    while masked.any():
        moved = digits.gather(1, tokens.repeat_interleave(k, 0).gather(1, cells))
        with torch.no_grad():
            logp = net(moved).float().log_softmax(-1)  # (BK, T, V) in the moved frame
        logp = logp.gather(1, back[:, :, None].expand(-1, -1, logp.shape[-1]))  # cells back in place
        logp = logp.gather(2, digits[:, None, :].expand(-1, cells_n, -1))  # [..., d] read at the moved digit
        probs = logp.exp().view(batch, k, cells_n, -1).mean(1)  # (B, T, V)
        probs[..., 0] = 0
        confidence, guess = probs.max(-1)
        best = confidence.masked_fill(~masked, -1).argmax(1)
        rows = masked.any(1).nonzero().squeeze(1)
        tokens[rows, best[rows]] = guess[rows, best[rows]]
        masked[rows, best[rows]] = False
    return tokens


def split(codec, data: str, name: str, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    manifest = read_manifest(data)
    tokens, frozen, _ = encode_records(codec, read_records(data, manifest, name)[:limit])
    return tokens, frozen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probe", choices=["symmetry", "carry"])
    parser.add_argument("--checkpoint", required=True, help="symmetry: a bundled name or export dir; carry: a Lightning .ckpt")
    parser.add_argument("--data", default="data/sudoku9")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--ensembles", default="1,4", help="symmetry: the K to try")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.probe == "symmetry":
        from solver.checkpoint import load

        loaded = load(args.checkpoint)
        tokens, frozen = split(loaded.codec, args.data, "test", args.limit)
        for k in (int(x) for x in args.ensembles.split(",")):
            start = time.time()
            answers = symmetry_decode(loaded.model.eval(), tokens, frozen, k)
            solved = int(check_batch(loaded.codec, tokens, answers).sum())
            print(f"K={k}: {solved}/{len(tokens)} solved, {time.time() - start:.0f} s")
        return
    from solver.lightning_module import SolverModule
    from solver.model import Denoiser

    module = SolverModule.load_from_checkpoint(args.checkpoint, map_location="cpu", weights_only=True)
    carried = module.export_net()
    fresh = Denoiser(carried.config.model_copy(update={"carry_state": False})).eval()
    fresh.load_state_dict({name: w for name, w in carried.state_dict().items() if name != "state_gate"})
    tokens, frozen = split(module.codec, args.data, "val", args.limit)
    for label, net in (("state carried", carried), ("fresh every step", fresh)):
        answers = sample(net, tokens, frozen, SampleOptions()).tokens
        print(f"{label}: {int(check_batch(module.codec, tokens, answers).sum())}/{len(tokens)} solved")


if __name__ == "__main__":
    main()
