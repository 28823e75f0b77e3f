#!/usr/bin/env python3
"""png-stats.py PNG BG_R,BG_G,BG_B [X,Y,W,H ...] [--thumb OUT WIDTH]: pixel facts of a screenshot
as one JSON line, for the lab test: the share of pixels that differ from the background colour
(by more than 24 in any channel) in the whole image and in each rectangle, and the number of
distinct colours. --thumb also writes a downscaled copy (the README's screenshot)."""
import json
import sys

import numpy as np
from PIL import Image

args = sys.argv[1:]
thumb = None
if '--thumb' in args:
    i = args.index('--thumb')
    thumb = (args[i + 1], int(args[i + 2]))
    del args[i:i + 3]
path, bg = args[0], np.array([int(v) for v in args[1].split(',')], dtype=np.int16)
img = Image.open(path).convert('RGB')
a = np.asarray(img).astype(np.int16)
drawn = (np.abs(a - bg) > 24).any(axis=2)
out = {'width': img.width, 'height': img.height, 'drawn': float(drawn.mean()),
       'colours': int(len(np.unique(a.reshape(-1, 3), axis=0))), 'rects': []}
for r in args[2:]:
    x, y, w, h = (int(round(float(v))) for v in r.split(','))
    sub = drawn[max(0, y):y + h, max(0, x):x + w]
    out['rects'].append(float(sub.mean()) if sub.size else 0.0)
if thumb:
    t = img.resize((thumb[1], round(img.height * thumb[1] / img.width)), Image.LANCZOS)
    t.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(thumb[0], optimize=True)
print(json.dumps(out))
