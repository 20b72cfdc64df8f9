#!/usr/bin/env python3
"""CPU PyTorch yardstick for `npm run bench`.

  --mode throughput  training samples/s of the MLP and the small CNN (random data)
  --mode finetune    the reference forgetting experiment on real Fashion-MNIST:
                     pretrain MLP, then finetune on rot90 with random rehearsal

Prints exactly one JSON object on stdout. Run it with Debian's /usr/bin/python3
(the one that has torch).
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_x": "train-images-idx3-ubyte.gz", "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz", "test_y": "t10k-labels-idx1-ubyte.gz",
}
BATCH = 128


def die(msg):
    print(f"torch_reference: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["throughput", "finetune"], default="throughput")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per model (throughput)")
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--budget", type=float, default=0.1, help="rehearsal samples per finetune sample")
    p.add_argument("--strategy", choices=["none", "random"], default="random")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--init-from", default=None,
                   help="skip pretraining: load f0 from the workbench's f0 cache (a weights.bin of float32 "
                        "W1[784,256] b1 W2[256,256] b2 W3[256,10] b3), to tell pretraining from finetuning differences")
    return p.parse_args()


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


# ---------------------------------------------------------------- throughput

def time_training(torch, model, x, y, seconds, warmup=20):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(warmup):  # allocator, Adam state and oneDNN kernels settle here
        step()
    steps, t0 = 0, time.perf_counter()
    while True:  # CPU torch is synchronous, so wall time per step is real time
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    return {"samplesPerSec": steps * x.shape[0] / elapsed, "stepMs": 1000 * elapsed / steps}


def throughput(torch, args):
    y = torch.randint(0, 10, (BATCH,))
    return {
        "mlp": time_training(torch, mlp(torch.nn), torch.rand(BATCH, 784), y, args.seconds),
        "cnn": time_training(torch, cnn(torch.nn), torch.rand(BATCH, 1, 28, 28), y, args.seconds),
    }


# ---------------------------------------------------------------- finetune

def read_idx(np, path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]  # magic: 0 0 0x08(ubyte) ndim
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data(np, data_dir):
    paths = {k: os.path.join(data_dir, v) for k, v in FILES.items()}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        die(f"missing Fashion-MNIST file(s): {', '.join(missing)}")
    return {k: read_idx(np, p) for k, p in paths.items()}


def finetune(torch, np, args):
    raw = load_data(np, args.data_dir)

    def as_x(imgs):  # pixels/255, flattened; no other normalisation (matches the tfjs side)
        return torch.from_numpy(np.ascontiguousarray(imgs, dtype=np.float32).reshape(len(imgs), 784) / 255.0)

    def rot(imgs):  # 90 degrees counter-clockwise on each 28x28 image
        return np.rot90(imgs, k=1, axes=(1, 2))

    y_train = torch.from_numpy(raw["train_y"].astype(np.int64))
    y_test = torch.from_numpy(raw["test_y"].astype(np.int64))
    x_pre, x_pre_test = as_x(raw["train_x"]), as_x(raw["test_x"])
    x_ft, x_ft_test = as_x(rot(raw["train_x"])), as_x(rot(raw["test_x"]))
    n = len(x_pre)
    gen = torch.Generator().manual_seed(args.seed)  # all data order comes from here
    loss_fn = torch.nn.CrossEntropyLoss()  # mean over the batch
    model = mlp(torch.nn)  # PyTorch default init

    @torch.no_grad()
    def accuracy(x, y):
        hits = sum((model(x[i:i + 2000]).argmax(1) == y[i:i + 2000]).sum().item() for i in range(0, len(x), 2000))
        return hits / len(x)

    # Pretrain f0 on the original task (or take the workbench's f0 as it is).
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    if args.init_from:
        flat = np.fromfile(args.init_from, dtype="<f4")
        layers = [m_ for m_ in model if isinstance(m_, torch.nn.Linear)]
        off = 0
        with torch.no_grad():
            for lin in layers:
                fan_out, fan_in = lin.weight.shape
                w = flat[off:off + fan_in * fan_out].reshape(fan_in, fan_out); off += fan_in * fan_out
                b = flat[off:off + fan_out]; off += fan_out
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
        if off != flat.size:
            die(f"{args.init_from} holds {flat.size} floats, the MLP 784-256-256-10 needs {off}")
    for _ in range(0 if args.init_from else args.pretrain_epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, BATCH):  # last partial batch kept, as a full epoch
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss_fn(model(x_pre[idx]), y_train[idx]).backward()
            opt.step()
    pretrain = {"seconds": time.perf_counter() - t0, "pretrainTestAcc": accuracy(x_pre_test, y_test)}

    # Finetune on rot90, mixing m rehearsal samples from the pretrain set into each step.
    m = math.floor(args.budget * BATCH + 0.5) if args.strategy == "random" else 0  # JS Math.round
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    series, eval_s = [], 0.0

    def evaluate(step):
        nonlocal eval_s
        te = time.perf_counter()
        series.append({"step": step, "pretrainTestAcc": accuracy(x_pre_test, y_test),
                       "finetuneTestAcc": accuracy(x_ft_test, y_test)})
        eval_s += time.perf_counter() - te

    t0 = time.perf_counter()
    evaluate(0)
    perm, pos = torch.randperm(n, generator=gen), 0
    for step in range(1, args.steps + 1):
        if pos + BATCH > n:  # new epoch: reshuffle, so every step has a full B
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos:pos + BATCH]
        pos += BATCH
        x, y = x_ft[idx], y_train[idx]
        if m:
            r_idx = torch.randperm(n, generator=gen)[:m]  # uniform, no repeats within a step
            x, y = torch.cat([x, x_pre[r_idx]]), torch.cat([y, y_train[r_idx]])
        opt.zero_grad()
        loss_fn(model(x), y).backward()  # one mean over all B+m samples
        opt.step()
        if step % args.eval_every == 0 or step == args.steps:
            evaluate(step)
    wall = time.perf_counter() - t0

    return {"pretrain": pretrain, "finetune": {
        "strategy": args.strategy, "budget": args.budget, "steps": args.steps,
        "wallSeconds": wall, "trainSeconds": wall - eval_s, "evalSeconds": eval_s,
        "final": {k: series[-1][k] for k in ("pretrainTestAcc", "finetuneTestAcc")},
        "series": series}}


def main():
    args = parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        die(f"cannot import torch/numpy ({e}); run with /usr/bin/python3")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # denormals in late training slow steps ~10x on CPU
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    out = {"torch": torch.__version__, "threads": args.threads}
    out.update(throughput(torch, args) if args.mode == "throughput" else finetune(torch, np, args))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
