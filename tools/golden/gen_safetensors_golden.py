#!/usr/bin/env python3
"""tools/golden/gen_safetensors_golden.py — golden safetensors files written by the reference
implementation (pip install safetensors numpy), for tests/test_checkpoint_safetensors.c.

  python3 tools/golden/gen_safetensors_golden.py tests/data/safetensors

Tensor values are closed-form (no RNG) so the C test rebuilds them exactly:
  "conv.weight"  F32 (4, 3, 3, 3): i * 0.25 - 10 for flat index i
  "conv.bias"    F32 (4,): [1.5, -2, 0, 3.25]
  "counts"       I32 (2, 3): i * 7 - 20
  "mask"         U8  (5,): i * 50
  "scalar"       F32 (): 42.0
  "empty"        F32 (0, 2)

golden_single.safetensors: metadata {"format": "pt"} — one key, so the reference's bytes are
deterministic (it stores metadata in a hash map, so several keys come out in random order)
and our writer must reproduce them byte for byte.
golden_meta.safetensors: several metadata keys with escapes and UTF-8; our reader must load it.
Also checks that the reference loads a file written by medcl when given one (--check FILE).
"""
import sys, os
import numpy as np
from safetensors.numpy import save, load_file, load


def tensors():
    return {
        "conv.weight": (np.arange(4 * 3 * 3 * 3, dtype=np.float64) * 0.25 - 10).astype(np.float32).reshape(4, 3, 3, 3),
        "conv.bias": np.array([1.5, -2, 0, 3.25], dtype=np.float32),
        "counts": (np.arange(6, dtype=np.int32) * 7 - 20).reshape(2, 3),
        "mask": (np.arange(5) * 50).astype(np.uint8),
        "scalar": np.array(42.0, dtype=np.float32),
        "empty": np.zeros((0, 2), dtype=np.float32),
    }


META = {"format": "pt", "medcl.step": "17", "quote\"back\\slash": "line\nbreak\ttab\x01",
        "unicode": "Dice \u2265 0.9 \u00e9"}


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--check":
        t = load_file(sys.argv[2])
        print({k: (v.dtype.str, v.shape) for k, v in t.items()})
        return
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/safetensors"
    os.makedirs(out, exist_ok=True)
    b = save(tensors(), metadata={"format": "pt"})
    for _ in range(3):  # deterministic with one metadata key
        assert save(tensors(), metadata={"format": "pt"}) == b
    open(os.path.join(out, "golden_single.safetensors"), "wb").write(b)
    open(os.path.join(out, "golden_meta.safetensors"), "wb").write(save(tensors(), metadata=META))
    back = load(b)
    for k, v in tensors().items():
        assert np.array_equal(back[k], v)


if __name__ == "__main__":
    main()
