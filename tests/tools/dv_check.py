#!/usr/bin/python3
"""dv_check -- an independent reader of Puffin files holding deletion vectors.

Usage: /usr/bin/python3 tests/tools/dv_check.py FILE

Written from the Iceberg Puffin spec (file and footer layout, the
"deletion-vector-v1" blob) and the RoaringFormatSpec (portable 32-bit Roaring),
sharing no code with floe's src/format/puffin.c and dv.c, so that a test can
check floe's output with code floe did not write. Standard library only.

Checks, failing with exit status 1 and "dv_check: <reason>" on stderr:
  file    "PFA1" at the start, at the end and at the footer start; flags all
          zero (uncompressed footer); the payload is a UTF-8 JSON object with
          a "blobs" list; every blob lies between the leading magic and the
          footer.
  blob    type deletion-vector-v1, fields [2147483645], snapshot-id and
          sequence-number -1, no compression-codec, a referenced-data-file and
          a decimal cardinality property equal to the number of positions.
  bytes   big-endian length == blob length - 8, magic D1 D3 39 64, big-endian
          CRC-32 of magic + vector; vector = u64 LE bitmap count, then per
          bitmap a u32 LE key (ascending, <= 2^31 - 2) and a portable 32-bit
          Roaring bitmap, with nothing left over.
  roaring cookie 12346 (+ u32 count) or 12347 | (count - 1) << 16 (+ run
          flags); container keys ascending; offset header (present when
          cookie 12346 or count >= 4) pointing at each container; arrays
          ascending with at most 4096 values; bitsets with more than 4096 and
          popcount equal to the header; runs within 16 bits, ascending, not
          overlapping, lengths adding up to the header.

Prints one JSON object:
  {"file_size": N, "created_by": "...", "packed": true,
   "blobs": [{"offset": O, "length": L, "referenced_data_file": "...",
              "cardinality": N, "bitmaps": B,
              "containers": {"array": a, "bitset": b, "run": r},
              "roaring_with_offsets": x, "roaring_without_offsets": y,
              "positions": [...]}]}
"packed" says the blobs fill the bytes between the leading magic and the
footer exactly, in order (how floe lays them out; not a spec rule).
"""

import json
import sys
import zlib

PUFFIN_MAGIC = b"PFA1"
DV_MAGIC = b"\xd1\xd3\x39\x64"
DV_FIELD = 2147483645
MAX_KEY = 2**31 - 2
MAX_POSITION = (MAX_KEY << 32) | 2**31


class Bad(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Bad(msg)


class Cursor:
    """Little-endian reads from data[pos:end], each checked against end."""

    def __init__(self, data, pos, end):
        self.data, self.pos, self.end = data, pos, end

    def take(self, n, what):
        need(self.pos + n <= self.end,
             "%s: %d bytes needed at offset %d, only %d left"
             % (what, n, self.pos, self.end - self.pos))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def uint(self, n, what):
        return int.from_bytes(self.take(n, what), "little")


def roaring32(cur, stats):
    """Decodes one portable 32-bit Roaring bitmap at cur; returns its values."""
    start = cur.pos
    cookie = cur.uint(4, "cookie")
    if cookie & 0xFFFF == 12347:
        count = (cookie >> 16) + 1
        run_flags = cur.take((count + 7) // 8, "run flags")
    elif cookie == 12346:
        count = cur.uint(4, "container count")
        need(count <= 65536, "%d containers" % count)
        run_flags = None
    else:
        raise Bad("unknown roaring cookie 0x%08x" % cookie)
    headers = [(cur.uint(2, "container key"), cur.uint(2, "cardinality") + 1)
               for _ in range(count)]
    offsets = None
    if run_flags is None or count >= 4:
        offsets = [cur.uint(4, "offset") for _ in range(count)]
        stats["roaring_with_offsets"] += 1
    else:
        stats["roaring_without_offsets"] += 1
    values = []
    prev_key = -1
    for i, (key, card) in enumerate(headers):
        need(key > prev_key, "container keys not ascending")
        prev_key = key
        if offsets is not None:
            need(offsets[i] == cur.pos - start,
                 "container %d: offset %d, actually at %d" % (i, offsets[i], cur.pos - start))
        low = []
        if run_flags is not None and run_flags[i // 8] >> (i % 8) & 1:
            stats["containers"]["run"] += 1
            nruns = cur.uint(2, "run count")
            need(nruns > 0, "run container without runs")
            last_end = -1
            for _ in range(nruns):
                first = cur.uint(2, "run start")
                last = first + cur.uint(2, "run length")
                need(last <= 0xFFFF, "run past 65535")
                need(first > last_end, "runs overlap or are not ascending")
                last_end = last
                low.extend(range(first, last + 1))
        elif card > 4096:
            stats["containers"]["bitset"] += 1
            bits = cur.take(8192, "bitset")
            for byte_index, byte in enumerate(bits):
                for bit in range(8):
                    if byte >> bit & 1:
                        low.append(byte_index * 8 + bit)
        else:
            stats["containers"]["array"] += 1
            low = [cur.uint(2, "array value") for _ in range(card)]
            need(all(a < b for a, b in zip(low, low[1:])), "array not ascending")
        need(len(low) == card,
             "container %d holds %d values, header says %d" % (i, len(low), card))
        values.extend((key << 16) | v for v in low)
    return values


def deletion_vector(data, offset, length, stats):
    """Checks the blob at data[offset:offset+length]; returns its positions."""
    need(length >= 12, "blob of %d bytes" % length)
    blob = data[offset:offset + length]
    vec_len = int.from_bytes(blob[0:4], "big")
    need(vec_len == length - 8, "length field %d, blob length %d" % (vec_len, length))
    need(blob[4:8] == DV_MAGIC, "bad DV magic %s" % blob[4:8].hex())
    crc = int.from_bytes(blob[length - 4:], "big")
    need(zlib.crc32(blob[4:length - 4]) == crc, "CRC mismatch")
    cur = Cursor(blob, 8, length - 4)
    nbitmaps = cur.uint(8, "bitmap count")
    stats["bitmaps"] = nbitmaps
    positions = []
    prev_key = -1
    for _ in range(nbitmaps):
        key = cur.uint(4, "bitmap key")
        need(prev_key < key <= MAX_KEY, "bitmap key %d out of order or too large" % key)
        prev_key = key
        positions.extend((key << 32) | v for v in roaring32(cur, stats))
    need(cur.pos == cur.end, "%d bytes after the last bitmap" % (cur.end - cur.pos))
    need(all(p <= MAX_POSITION for p in positions), "position too large")
    return positions


def check(data):
    n = len(data)
    need(n >= 20, "file of %d bytes" % n)
    need(data[:4] == PUFFIN_MAGIC, "no PFA1 at the start")
    need(data[-4:] == PUFFIN_MAGIC, "no PFA1 at the end")
    need(data[-8:-4] == b"\0\0\0\0", "footer flags %s" % data[-8:-4].hex())
    payload_len = int.from_bytes(data[-12:-8], "little", signed=True)
    footer = n - 12 - payload_len - 4
    need(0 <= payload_len and footer >= 4, "payload size %d" % payload_len)
    need(data[footer:footer + 4] == PUFFIN_MAGIC, "no PFA1 at the footer start")
    meta = json.loads(data[footer + 4:footer + 4 + payload_len].decode("utf-8"))
    need(isinstance(meta, dict) and isinstance(meta.get("blobs"), list), "no blobs list")
    out = {
        "file_size": n,
        "created_by": meta.get("properties", {}).get("created-by"),
        "blobs": [],
    }
    expect_offset = 4
    packed = True
    for b in meta["blobs"]:
        need(b.get("type") == "deletion-vector-v1", "blob type %r" % b.get("type"))
        need(b.get("fields") == [DV_FIELD], "fields %r" % b.get("fields"))
        need(b.get("snapshot-id") == -1 and b.get("sequence-number") == -1,
             "snapshot-id / sequence-number not -1")
        need("compression-codec" not in b, "compressed DV")
        off, length = b["offset"], b["length"]
        need(isinstance(off, int) and isinstance(length, int), "offset/length not integers")
        need(4 <= off and 0 <= length and off + length <= footer,
             "blob [%d, +%d) outside the blob area" % (off, length))
        packed = packed and off == expect_offset
        expect_offset = off + length
        props = b.get("properties", {})
        ref = props.get("referenced-data-file")
        need(isinstance(ref, str) and ref, "no referenced-data-file")
        card = props.get("cardinality")
        need(isinstance(card, str) and card.isdigit(), "cardinality %r" % card)
        stats = {"containers": {"array": 0, "bitset": 0, "run": 0},
                 "roaring_with_offsets": 0, "roaring_without_offsets": 0}
        positions = deletion_vector(data, off, length, stats)
        need(int(card) == len(positions),
             "cardinality %s, %d positions decoded" % (card, len(positions)))
        entry = {"offset": off, "length": length, "referenced_data_file": ref,
                 "cardinality": int(card)}
        entry.update(stats)
        entry["positions"] = positions
        out["blobs"].append(entry)
    out["packed"] = packed and expect_offset == footer
    return out


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: dv_check.py FILE\n")
        return 2
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    try:
        out = check(data)
    except (Bad, ValueError, KeyError, TypeError, AttributeError) as e:
        sys.stderr.write("dv_check: %s\n" % e)
        return 1
    # ASCII with \u escapes: independent of the locale's stdout encoding.
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
