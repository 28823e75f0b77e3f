#!/usr/bin/python3
"""Training throughput of the Folia CNN in PyTorch (Debian python3-torch), the peer that
`folia-train bench` measures against in the same run. Best PyTorch CPU settings: channels_last
(~30 % faster than NCHW here), mkldnn on, explicit thread count. Same model, batch, optimiser
(Adam) and synthetic input as folia-train's side. Prints one JSON line."""
import argparse
import json
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.max_pool2d(torch.relu_(self.bn(self.conv(x))), 2)


class FoliaNet(nn.Module):
    def __init__(self, classes, channels=(32, 64, 128, 256), hidden=256):
        super().__init__()
        cin = 3
        for i, c in enumerate(channels):
            setattr(self, f"block{i}", Block(cin, c))
            cin = c
        self.n = len(channels)
        self.fc1 = nn.Linear(cin, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"block{i}")(x)
        return self.fc2(self.dropout(torch.relu(self.fc1(x.mean((2, 3))))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=35)
    ap.add_argument("--nchw", action="store_true", help="plain NCHW instead of channels_last")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.contiguous_format if a.nchw else torch.channels_last
    model = FoliaNet(a.classes).to(memory_format=fmt)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-4)
    x = torch.randn(a.batch, 3, a.size, a.size).contiguous(memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"framework": f"pytorch {torch.__version__}",
                      "memory_format": "nchw" if a.nchw else "channels_last",
                      "threads": a.threads, "batch": a.batch, "size": a.size,
                      "steps": a.steps, "seconds": dt,
                      "images_per_s": a.batch * a.steps / dt}))


if __name__ == "__main__":
    main()
