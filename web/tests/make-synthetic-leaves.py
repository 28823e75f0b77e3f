#!/usr/bin/python3
"""make-synthetic-leaves.py OUT_DIR N [SEED]: N synthetic 256x256 leaf photos of one made-up
disease (violet rings on a yellow-green leaf, a pattern no PlantVillage class has), for the teach
test when the real mango photos ($FOLIA_DATA/../new-classes) are not on this machine. Written as
OUT_DIR/synthetic-NN.jpg; nothing image-like is committed.
"""
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter


def leaf(rng):
    img = Image.new('RGB', (256, 256), (rng.randint(200, 230),) * 3)
    d = ImageDraw.Draw(img)
    cx, cy = 128 + rng.randint(-10, 10), 128 + rng.randint(-10, 10)
    rx, ry = rng.randint(80, 100), rng.randint(50, 70)
    d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(150 + rng.randint(-15, 15), 180, 60))
    d.line([(cx - rx, cy), (cx + rx, cy)], fill=(210, 220, 140), width=3)
    for _ in range(rng.randint(8, 14)):  # the "disease": violet rings with a dark centre
        x, y = cx + rng.randint(-rx + 20, rx - 20), cy + rng.randint(-ry + 15, ry - 15)
        r = rng.randint(6, 12)
        d.ellipse([x - r, y - r, x + r, y + r], fill=(120, 40, 150))
        d.ellipse([x - r // 2, y - r // 2, x + r // 2, y + r // 2], fill=(40, 20, 40))
    noise = Image.effect_noise((256, 256), 20).convert('RGB')
    return Image.blend(img, noise, 0.08).filter(ImageFilter.GaussianBlur(0.6))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit('usage: make-synthetic-leaves.py OUT_DIR N [SEED]')
    out, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        path = os.path.join(out, f'synthetic-{i:02d}.jpg')
        tmp = path + '.tmp'
        leaf(rng).save(tmp, 'JPEG', quality=90)
        os.replace(tmp, path)


if __name__ == '__main__':
    main()
