"""Tells whether a PNG screenshot shows something: decodes it with zlib only
(no imaging library), counts the distinct colours and the share of pixels
that differ from the most common one. Usage: pngcheck.py FILE.png"""
import sys, zlib, struct
from collections import Counter

def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    if depth != 8 or colour not in (2, 6) or interlace:
        raise SystemExit(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read (depth {depth}, colour type {colour})")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1: line[i] = (line[i] + left) & 255
            elif kind == 2: line[i] = (line[i] + up) & 255
            elif kind == 3: line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    counts = Counter()
    for line in rows:
        for i in range(0, stride, channels):
            counts[line[i:i + 3]] += 1
    return width, height, counts

width, height, counts = pixels(sys.argv[1])
total = width * height
background = counts.most_common(1)[0][1]
share = 1 - background / total
print(f"{sys.argv[1]}: {width}x{height}, {len(counts)} colours, {share:.1%} of pixels not background")
if len(counts) < 4 or share < 0.01:
    raise SystemExit(f"{sys.argv[1]}: the screenshot is blank")
