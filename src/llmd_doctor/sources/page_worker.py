"""A helper process of the live source (sources/pages.py): parses the list pages it is sent.

Reads frames from stdin (the lengths of a JSON header and of a page body, then both), answers each
with a pickled ("page", items, warnings, continue) — the items dropped, pruned, shared and validated
exactly as the parent would (pages.Shaper) — or ("api-error", message) for a page that is not a
list, or ("failed", message). Ends when stdin closes. Started as `python -m`, with the parent's
Python; it reads nothing but its pipe.
"""

from __future__ import annotations

import gc
import json
import pickle
import struct
import sys


def main() -> int:
    from llmd_doctor.snapshot import ApiError
    from llmd_doctor.sources.pages import _HEADER, PageKind, Shaper, read_page

    gc.disable()  # JSON makes no cycles; collections would walk every page parsed (see live.py)
    src, out = sys.stdin.buffer, sys.stdout.buffer
    shaper = Shaper()
    while True:
        head = src.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return 0
        hlen, blen = _HEADER.unpack(head)
        pk = PageKind(**json.loads(src.read(hlen)))
        body = src.read(blen)
        try:
            page = read_page(body, pk, shaper)
            answer: tuple[object, ...] = ("page", page.items, page.warnings, page.cont)
        except ApiError as e:
            answer = ("api-error", str(e))
        except Exception as e:  # noqa: BLE001 - any failure of ours: the parent parses the page itself
            answer = ("failed", f"{type(e).__name__}: {e}")
        del body
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(struct.pack("<I", len(data)))
        out.write(data)
        out.flush()
        del answer, data


if __name__ == "__main__":
    sys.exit(main())
