#!/usr/bin/python3
"""make-synthetic-photo.py OUT.jpg: a synthetic 12 MP phone photo for the browser tests.

4032x3024 JPEG (quality 90, 4:2:0) of a leaf-like shape on a soil-coloured background with
texture noise, tagged EXIF orientation 6 (stored sideways, displayed rotated 90 degrees
clockwise) like a portrait photo from a phone. Written atomically.
"""
import os
import sys

from PIL import Image, ImageDraw, ImageFilter


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make-synthetic-photo.py OUT.jpg')
    out = sys.argv[1]
    w, h = 4032, 3024
    img = Image.linear_gradient('L').resize((w, h)).convert('RGB')
    img = Image.merge('RGB', [c.point(lambda v, k=k: int(60 + v * k)) for c, k in
                              zip(img.split(), (0.35, 0.25, 0.12))])
    d = ImageDraw.Draw(img)
    d.ellipse([700, 500, 3300, 2500], fill=(70, 140, 60))
    d.ellipse([1100, 700, 2900, 2300], fill=(90, 160, 70))
    for i in range(40):  # disease-like spots
        x, y = 1200 + (i * 397) % 1600, 800 + (i * 251) % 1400
        d.ellipse([x, y, x + 60 + i % 5 * 20, y + 50 + i % 7 * 15], fill=(120, 90, 40))
    d.line([(800, 1500), (3200, 1500)], fill=(200, 220, 170), width=18)
    noise = Image.effect_noise((w, h), 24).convert('RGB')
    img = Image.blend(img, noise, 0.12).filter(ImageFilter.GaussianBlur(1.2))
    exif = Image.Exif()
    exif[0x0112] = 6
    tmp = out + '.tmp'
    img.save(tmp, format='JPEG', quality=90, exif=exif.tobytes())
    os.replace(tmp, out)


if __name__ == '__main__':
    main()
