#!/usr/bin/python3
"""bench-native.py: `folia bench` against PyTorch on the same weights, interleaved in one run.

    /usr/bin/python3 tools/bench-native.py [--model shared/models/plantvillage.folia]
        [--rounds 4] [--runs 50] [--warmup 10] [--threads 1,2] [--cli build/native/bin/folia]
        [--out build/bench/native-bench.json]

Batch 1 at the model's input size, no decoding or resizing on either side (folia bench times
folia_logits on a prepared input). PyTorch runs the same network read from the model file
(tools/export-onnx.py's reader; its logits are checked against the golden file first) in each of
its CPU inference configurations, and its best p50 for each thread count is the peer:
  eager NCHW, eager channels-last, and TorchScript frozen + optimize_for_inference (which folds
  BatchNorm, and picks channels-last/MKLDNN where it helps), all under torch.inference_mode().
Rounds alternate A B A B (folia bench in a child process, then every PyTorch configuration in
this one), so a load change hits both; the load averages before and after are printed. The
figure to read is folia p50 / best PyTorch p50 (the goal of issue 13 is <= 0.5 at 2 threads).
Not a test: nothing here asserts a time.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))


def load_export_module():
    spec = importlib.util.spec_from_file_location('export_onnx', os.path.join(ROOT, 'tools', 'export-onnx.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def torch_model(exp, model_path):
    meta, tensors = exp.read_model_file(model_path)
    net = exp.FoliaNet(meta['arch'])
    # exemplars.*: the teaching replay features the model file carries, not network weights
    weights = {k: v for k, v in tensors.items() if not k.startswith('exemplars.')}
    missing, unexpected = net.load_state_dict(weights, strict=False)
    if [m for m in missing if not m.endswith('num_batches_tracked')] or unexpected:
        sys.exit(f'{model_path}: tensors do not match the network: {missing} {unexpected}')
    return meta, net.eval()


def configurations(net, size):
    """name -> callable(x) for each PyTorch CPU inference configuration."""
    cl = torch.channels_last
    x0 = torch.zeros(1, 3, size, size)
    with torch.inference_mode():
        # traced (the network has no control flow that depends on data)
        scripted = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x0)))
        scripted(x0.contiguous(memory_format=cl))  # the first calls specialise the graph
    net_cl = net.to(memory_format=cl)
    return {
        'eager NCHW': lambda x: net(x),
        'eager channels-last': lambda x: net_cl(x.contiguous(memory_format=cl)),
        'TorchScript frozen + optimize_for_inference': lambda x: scripted(x.contiguous(memory_format=cl)),
    }


def time_torch(fn, x, runs, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t) * 1e3)
    return times


def time_folia(cli, model, threads, runs, warmup):
    out = subprocess.run([cli, 'bench', '--json', '--model', model, '--threads', str(threads),
                          '--runs', str(runs), '--warmup', str(warmup), '--batch-runs', '1'],
                         check=True, capture_output=True, text=True).stdout
    rows = [r for r in json.loads(out)['results'] if r['threads'] == threads]
    return rows[0]['p50_ms']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=os.path.join(ROOT, 'shared', 'models', 'plantvillage.folia'))
    ap.add_argument('--cli', default=os.path.join(ROOT, 'build', 'native', 'bin', 'folia'))
    ap.add_argument('--rounds', type=int, default=4)
    ap.add_argument('--runs', type=int, default=50)
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--out', default=os.path.join(ROOT, 'build', 'bench', 'native-bench.json'))
    a = ap.parse_args()
    if not os.access(a.cli, os.X_OK):
        sys.exit(f'{a.cli} missing: bash tools/build-native.sh folia_cli')
    exp = load_export_module()
    meta, net = torch_model(exp, a.model)
    size = meta['preprocess']['input_size']
    gx, glogits = exp.read_golden(a.model.replace('.folia', '.golden.bin'))
    with torch.inference_mode():
        got = net(torch.from_numpy(np.ascontiguousarray(gx.transpose(0, 3, 1, 2)))).numpy()
    golden_diff = float(np.abs(got - glogits).max())
    if golden_diff > 1e-3:
        sys.exit(f'PyTorch logits differ from the golden file by {golden_diff}')
    x = torch.from_numpy(np.ascontiguousarray(gx[:1].transpose(0, 3, 1, 2)))
    threads = [int(t) for t in a.threads.split(',')]
    load_before = os.getloadavg()
    res = {t: {'folia': [], 'torch': {}} for t in threads}
    for rnd in range(a.rounds):
        for t in threads:
            res[t]['folia'].append(time_folia(a.cli, a.model, t, a.runs, a.warmup))  # A
            torch.set_num_threads(t)
            for name, fn in configurations(net, size).items():  # B
                res[t]['torch'].setdefault(name, []).append(statistics.median(time_torch(fn, x, a.runs, a.warmup)))
        print(f'round {rnd + 1}/{a.rounds} done', file=sys.stderr)
    load_after = os.getloadavg()
    report(a, res, threads, load_before, load_after, golden_diff)


def report(a, res, threads, load_before, load_after, golden_diff):
    print(f'\nfolia bench vs PyTorch {torch.__version__} ({a.rounds} rounds A B A B, batch 1, '
          f'{a.runs} runs each; p50 = median over rounds of each round\'s p50)')
    print(f'load average before {" ".join(f"{v:.2f}" for v in load_before)}, '
          f'after {" ".join(f"{v:.2f}" for v in load_after)}; PyTorch vs golden max |dlogit| {golden_diff:.1e}\n')
    print(f'{"threads":<9}{"engine":<52}{"p50 ms":>8}{"folia / this":>14}')
    out = {'model': a.model, 'torch': torch.__version__, 'rounds': a.rounds, 'runs': a.runs,
           'loadavg_before': load_before, 'loadavg_after': load_after, 'results': []}
    for t in threads:
        folia = statistics.median(res[t]['folia'])
        torch_p50 = {n: statistics.median(v) for n, v in res[t]['torch'].items()}
        best = min(torch_p50, key=torch_p50.get)
        print(f'{t:<9}{"folia bench":<52}{folia:>8.2f}')
        for n, v in torch_p50.items():
            print(f'{t:<9}{"PyTorch " + n + (" (best)" if n == best else ""):<52}{v:>8.2f}{folia / v:>13.2f}x')
        out['results'].append({'threads': t, 'folia_p50_ms': folia, 'folia_rounds_ms': res[t]['folia'],
                               'torch_p50_ms': torch_p50, 'torch_best': best,
                               'ratio_folia_vs_best_torch': folia / torch_p50[best]})
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    tmp = f'{a.out}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f, indent=2)
    os.replace(tmp, a.out)
    print(f'\nwrote {a.out}')


if __name__ == '__main__':
    main()
