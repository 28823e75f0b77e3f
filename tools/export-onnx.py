#!/usr/bin/python3
"""export-onnx.py: the Folia model file as ONNX, for the browser benchmark's ONNX Runtime Web peer.

    /usr/bin/python3 tools/export-onnx.py [--model shared/models/plantvillage.folia]
                                          [--golden shared/models/plantvillage.golden.bin]
                                          [--out build/bench/folia.onnx] [--no-cli-check]

Reads the model file (shared/include/folia/model-file.h) without any Folia code, builds the same
network in PyTorch (eval mode; BatchNorm is carried, ONNX Runtime folds it into the convolution
as our engine does), and checks it before exporting:
  - against the golden file's LibTorch logits (the training export's reference), max abs diff;
  - against the native CLI on a synthetic photo made here: `folia preprocess` gives the
    engine's uint8 input, `folia diagnose --json` its calibrated top-3 probabilities.
Input "x" is (N, 3, S, S) f32 normalised NCHW (ONNX's layout), output "logits" (N, K); the batch
dimension is dynamic. Opset 13. Writes atomically.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))


def read_model_file(path):
    b = open(path, 'rb').read()
    if len(b) < 32 or b[:8] != b'FOLIAMDL':
        sys.exit(f'{path}: not a Folia model file')
    version, header_size = struct.unpack_from('<II', b, 8)
    (payload_size,) = struct.unpack_from('<Q', b, 16)
    header_crc, payload_crc = struct.unpack_from('<II', b, 24)
    if version != 1:
        sys.exit(f'{path}: model format version {version}, this tool reads 1')
    header = b[32:32 + header_size]
    start = (32 + header_size + 63) // 64 * 64  # the payload starts 64-byte aligned
    payload = b[start:start + payload_size]
    if len(payload) != payload_size:
        sys.exit(f'{path}: truncated')
    if zlib.crc32(header) != header_crc or zlib.crc32(payload) != payload_crc:
        sys.exit(f'{path}: checksum mismatch')
    meta = json.loads(header)
    tensors = {}
    for t in meta['tensors']:
        n = int(np.prod(t['shape']))
        a = np.frombuffer(payload, dtype='<f4', count=n, offset=t['offset'])
        tensors[t['name']] = torch.from_numpy(a.reshape(t['shape']).astype(np.float32))
    return meta, tensors


class Block(nn.Module):
    def __init__(self, cin, cout, eps):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout, eps=eps)

    def forward(self, x):
        return torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)


class FoliaNet(nn.Module):
    """The network of DEVELOPERS.md; parameter names match the model file's tensors."""

    def __init__(self, arch):
        super().__init__()
        chans = [3] + list(arch['channels'])
        for i in range(len(arch['channels'])):
            self.add_module(f'block{i}', Block(chans[i], chans[i + 1], arch['bn_eps']))
        self.nblocks = len(arch['channels'])
        self.fc1 = nn.Linear(chans[-1], arch['hidden'])
        self.fc2 = nn.Linear(arch['hidden'], arch['num_classes'])

    def forward(self, x):  # x is (N,3,S,S) f32 normalised
        for i in range(self.nblocks):
            x = getattr(self, f'block{i}')(x)
        x = x.mean(dim=(2, 3))  # global average pool -> (N, C)
        return self.fc2(torch.relu(self.fc1(x)))  # dropout is the identity at inference


def read_golden(path):
    b = open(path, 'rb').read()
    if b[:8] != b'FOLIAGLD':
        sys.exit(f'{path}: not a Folia golden file')
    ver, n, size, c, k, _ = struct.unpack_from('<6I', b, 8)
    ni = n * size * size * c
    x = np.frombuffer(b, '<f4', ni, 32).reshape(n, size, size, c)
    logits = np.frombuffer(b, '<f4', n * k, 32 + 4 * ni).reshape(n, k)
    return x, logits


def cli_check(net, meta, cli, model_path, work):
    """Our torch network vs the native engine on a synthetic photo (calibrated probabilities)."""
    from PIL import Image
    rng = np.random.default_rng(7)
    # a smooth colour field plus noise: not a leaf, but exercises every channel and the resize
    yy, xx = np.mgrid[0:300, 0:400]
    img = np.stack([120 + 80 * np.sin(xx / 37.0), 140 + 60 * np.cos(yy / 23.0), 90 + 50 * np.sin((xx + yy) / 51.0)], -1)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    photo = os.path.join(work, 'export-check.png')
    Image.fromarray(img).save(photo)
    rgb_path = os.path.join(work, 'export-check.rgb')
    subprocess.run([cli, 'preprocess', '--size', str(meta['preprocess']['input_size']), photo, '-o', rgb_path], check=True)
    s = meta['preprocess']['input_size']
    u8 = np.fromfile(rgb_path, np.uint8).reshape(s, s, 3)
    mean = np.array(meta['preprocess']['mean'], np.float32)
    std = np.array(meta['preprocess']['std'], np.float32)
    x = ((u8.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)[None]
    with torch.no_grad():
        logits = net(torch.from_numpy(np.ascontiguousarray(x)))
    probs = torch.softmax(logits / meta['calibration']['temperature'], dim=1)[0].numpy()
    out = subprocess.run([cli, 'diagnose', '--json', '--model', model_path, photo], check=True,
                         capture_output=True, text=True).stdout
    native = json.loads(out.strip().splitlines()[0])
    labels = meta['labels']
    return max(abs(float(probs[labels.index(t['label'])]) - t['p']) for t in native['top'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=os.path.join(ROOT, 'shared/models/plantvillage.folia'))
    ap.add_argument('--golden', default=os.path.join(ROOT, 'shared/models/plantvillage.golden.bin'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'build/bench/folia.onnx'))
    ap.add_argument('--cli', default=os.path.join(ROOT, 'build/native/bin/folia'))
    ap.add_argument('--no-cli-check', action='store_true')
    ap.add_argument('--opset', type=int, default=13)
    a = ap.parse_args()

    meta, tensors = read_model_file(a.model)
    net = FoliaNet(meta['arch']).eval()
    state = net.state_dict()
    missing = [k for k in state if k.split('.')[-1] != 'num_batches_tracked' and k not in tensors]
    if missing:
        sys.exit(f'{a.model}: missing tensors {missing}')
    net.load_state_dict({k: tensors.get(k, v) for k, v in state.items()})
    report = {'model': os.path.relpath(a.model, ROOT), 'params': sum(p.numel() for p in net.parameters())}

    tol = 1e-4
    if a.golden and os.path.exists(a.golden):
        gx, glogits = read_golden(a.golden)
        with torch.no_grad():
            ours = net(torch.from_numpy(np.ascontiguousarray(gx.transpose(0, 3, 1, 2)))).numpy()
        d = float(np.abs(ours - glogits).max())
        report['golden_max_abs_diff'] = d
        if d > tol:
            sys.exit(f'torch network vs golden logits: max abs diff {d:.3g} > {tol}')
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if not a.no_cli_check:
        if not os.path.exists(a.cli):
            sys.exit(f'{a.cli} not found: build it (tools/build-native.sh) or pass --no-cli-check')
        d = cli_check(net, meta, a.cli, a.model, os.path.dirname(os.path.abspath(a.out)))
        report['cli_top3_prob_max_abs_diff'] = d
        if d > tol:
            sys.exit(f'torch network vs native CLI: max abs diff {d:.3g} > {tol}')

    s = meta['preprocess']['input_size']
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(a.out)), suffix='.onnx.tmp')
    os.close(fd)
    try:
        torch.onnx.export(net, torch.zeros(1, 3, s, s), tmp, opset_version=a.opset,
                          input_names=['x'], output_names=['logits'],
                          dynamic_axes={'x': {0: 'n'}, 'logits': {0: 'n'}}, do_constant_folding=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, a.out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    report['onnx'] = os.path.relpath(a.out, ROOT)
    report['onnx_bytes'] = os.path.getsize(a.out)
    report['opset'] = a.opset
    print(json.dumps(report))


if __name__ == '__main__':
    main()
