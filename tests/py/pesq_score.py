#!/usr/bin/env python3
"""Score a degraded speech recording against its reference with ITU-T P.862 (pip `pesq`).

Usage: pesq_score.py REFERENCE.wav DEGRADED.wav nb|wb

Both files are mixed down to mono and resampled to 8 kHz (nb) or 16 kHz (wb).
Leading silence / call-setup delay in the degraded file is handled by aligning it to the
reference with a cross-correlation of the envelopes before scoring (PESQ itself aligns only
within small windows). Prints the MOS-LQO as a single number on stdout; exits 2 with a
one-line message on stderr when the files cannot be scored (e.g. the degraded file is silent).
"""
import sys

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly, correlate
from math import gcd


def load(path, rate):
    data, sr = sf.read(path, dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if sr != rate:
        g = gcd(int(sr), rate)
        mono = resample_poly(mono, rate // g, int(sr) // g)
    return mono


def align(ref, deg, rate):
    """Shift `deg` so that its speech lines up with `ref` (search up to 10 s of delay)."""
    max_lag = min(len(deg), 10 * rate)
    win = rate // 100
    def env(x):
        x = np.abs(x)
        n = len(x) // win
        return x[: n * win].reshape(n, win).mean(axis=1)
    er, ed = env(ref), env(deg)
    if len(ed) == 0 or len(er) == 0:
        return deg
    corr = correlate(ed, er, mode="full")
    lags = np.arange(-len(er) + 1, len(ed))
    ok = (lags >= 0) & (lags * win <= max_lag)
    if not ok.any():
        return deg
    lag = lags[ok][np.argmax(corr[ok])] * win
    # Keep a little lead-in so PESQ's own alignment has room to work.
    start = max(0, lag - rate // 10)
    out = deg[start:]
    want = len(ref) + rate // 10
    if len(out) < want:
        out = np.concatenate([out, np.zeros(want - len(out))])
    return out[:want]


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("nb", "wb"):
        sys.stderr.write("usage: pesq_score.py REFERENCE.wav DEGRADED.wav nb|wb\n")
        return 2
    from pesq import pesq
    mode = sys.argv[3]
    rate = 8000 if mode == "nb" else 16000
    try:
        ref = load(sys.argv[1], rate)
        deg = load(sys.argv[2], rate)
    except Exception as e:  # unreadable or missing file
        sys.stderr.write(f"cannot read audio: {e}\n")
        return 2
    if len(deg) < rate // 2 or np.max(np.abs(deg)) < 1e-4:
        sys.stderr.write(f"degraded file {sys.argv[2]} is silent or shorter than 0.5 s\n")
        return 2
    deg = align(ref, deg, rate)
    # Pad the reference with the same lead-in length so both have equal size.
    ref = np.concatenate([np.zeros(rate // 10), ref])[: len(deg)]
    try:
        score = pesq(rate, ref, deg, mode)
    except Exception as e:  # pesq raises on "no utterances detected"
        sys.stderr.write(f"pesq could not score {sys.argv[2]}: {e}\n")
        return 2
    print(f"{score:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
