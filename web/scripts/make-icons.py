#!/usr/bin/python3
"""make-icons.py OUT_DIR: draws Folia's app icons (a green leaf with a midrib and veins) with PIL.

Writes icon-192.png, icon-512.png (purpose "any": leaf on a rounded light tile) and
maskable-512.png (purpose "maskable": full-bleed background, leaf inside the 80 % safe zone).
Drawn at 4x and downsampled for smooth edges. Deterministic output.
"""
import math
import os
import sys

from PIL import Image, ImageDraw

GREEN = (46, 107, 48, 255)
LEAF = (92, 163, 74, 255)
VEIN = (230, 244, 222, 255)
TILE = (244, 247, 240, 255)


def leaf_points(cx, cy, length, width, angle, n=90):
    """Outline of a pointed leaf: two arcs meeting at tip and base, rotated by angle (radians)."""
    pts = []
    for i in range(n + 1):
        t = i / n  # 0 = base, 1 = tip
        half = width / 2 * math.sin(math.pi * t) ** 0.8 * (1 - 0.25 * t)
        pts.append((t, half))
    outline = [(t, h) for t, h in pts] + [(t, -h) for t, h in reversed(pts)]
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for t, h in outline:
        x = (t - 0.5) * length
        out.append((cx + x * ca - h * sa, cy + x * sa + h * ca))
    return out


def along(cx, cy, length, angle, t, off=0.0):
    ca, sa = math.cos(angle), math.sin(angle)
    x = (t - 0.5) * length
    return (cx + x * ca - off * sa, cy + x * sa + off * ca)


def draw_icon(size, maskable):
    s = size * 4
    img = Image.new('RGBA', (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle([0, 0, s, s], fill=GREEN)
        scale, leaf_fill, vein = 0.62, LEAF, VEIN
    else:
        r = s * 0.22
        d.rounded_rectangle([0, 0, s - 1, s - 1], radius=r, fill=TILE)
        scale, leaf_fill, vein = 0.86, GREEN, VEIN
    cx = cy = s / 2
    length, width, angle = s * scale, s * scale * 0.52, -math.pi / 4
    d.polygon(leaf_points(cx, cy, length, width, angle), fill=leaf_fill)
    lw = max(2, int(s * 0.018))
    # stem + midrib
    d.line([along(cx, cy, length, angle, -0.08), along(cx, cy, length, angle, 0.93)], fill=vein, width=lw)
    d.line([along(cx, cy, length, angle, -0.08), along(cx, cy, length, angle, 0.02)],
           fill=GREEN if not maskable else VEIN, width=lw * 2)
    # side veins
    for t in (0.25, 0.42, 0.59, 0.74):
        for side in (1, -1):
            reach = width / 2 * math.sin(math.pi * (t + 0.1)) * 0.55 * side
            d.line([along(cx, cy, length, angle, t), along(cx, cy, length, angle, t + 0.1, reach)],
                   fill=vein, width=max(1, lw * 2 // 3))
    return img.resize((size, size), Image.LANCZOS)


def save_atomic(img, path):
    tmp = path + '.tmp'
    img.save(tmp, format='PNG', optimize=True)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make-icons.py OUT_DIR')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save_atomic(draw_icon(192, False), os.path.join(out, 'icon-192.png'))
    save_atomic(draw_icon(512, False), os.path.join(out, 'icon-512.png'))
    save_atomic(draw_icon(512, True), os.path.join(out, 'maskable-512.png'))


if __name__ == '__main__':
    main()
