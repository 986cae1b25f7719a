"""Minimal PNG reader and writer (stdlib only): enough to check a Chromium screenshot for blankness and to
cut pieces out of it. 8-bit greyscale, RGB and RGBA, not interlaced."""
import struct
import zlib


def read(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('%s: not a PNG' % path)
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or interlace or ctype not in (0, 2, 6):
                raise ValueError('unsupported PNG (depth %d, type %d, interlace %d)' % (depth, ctype, interlace))
        elif kind == b'IDAT':
            idat.append(body)
        pos += 12 + n
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(b''.join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def write(path, w, h, bpp, rows):
    ctype = {1: 0, 3: 2, 4: 6}[bpp]
    raw = b''.join(b'\x00' + r for r in rows)

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ctype, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b''))


def colours(rows, bpp, step=3):
    """Distinct pixel values, sampling every step-th pixel of every step-th row."""
    seen = set()
    for r in rows[::step]:
        for i in range(0, len(r), bpp * step):
            seen.add(r[i:i + bpp])
    return len(seen)


if __name__ == '__main__':
    import sys
    # png.py crop IN OUT Y0 Y1: rows Y0..Y1 of IN into OUT
    if sys.argv[1] == 'crop':
        w, h, bpp, rows = read(sys.argv[2])
        y0, y1 = int(sys.argv[4]), min(int(sys.argv[5]), h)
        write(sys.argv[3], w, y1 - y0, bpp, rows[y0:y1])
    elif sys.argv[1] == 'colours':
        w, h, bpp, rows = read(sys.argv[2])
        print(w, h, colours(rows, bpp))
