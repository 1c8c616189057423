"""Anchor: one LeNet-300-100 training step (batch 60, fwd + bwd + masked Adam) in numpy.

    python3 scripts/numpy-lenet-step.py [--threads N]

Set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before numpy loads (--threads does it). Prints the
median ms over 200 steps after 20 warm-up steps and the BLAS numpy uses.
"""
import os, sys, time
if '--threads' in sys.argv:
    n = sys.argv[sys.argv.index('--threads') + 1]
    for k in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[k] = n
import numpy as np

rng = np.random.default_rng(0)
f32 = np.float32
sizes = [784, 300, 100, 10]
W = [(rng.standard_normal((a, b)) * np.sqrt(2 / (a + b))).astype(f32) for a, b in zip(sizes, sizes[1:])]
B = [np.zeros(b, f32) for b in sizes[1:]]
M = [(rng.random(w.shape) < 0.8).astype(f32) for w in W]
W = [w * m for w, m in zip(W, M)]
params = W + B
masks = M + [None] * 3
m1 = [np.zeros_like(p) for p in params]
m2 = [np.zeros_like(p) for p in params]
X = rng.standard_normal((6000, 784)).astype(f32)
Y = rng.integers(0, 10, 6000)

def step(t, xb, yb, lr=1.2e-3, b1=0.9, b2=0.999, eps=1e-8):
    hs = [xb]
    h = xb
    for i in range(3):
        z = h @ W[i] + B[i]
        h = np.maximum(z, 0) if i < 2 else z
        hs.append(h)
    z = h - h.max(1, keepdims=True)
    p = np.exp(z); p /= p.sum(1, keepdims=True)
    d = p; d[np.arange(len(yb)), yb] -= 1; d /= len(yb)
    gW, gB = [None] * 3, [None] * 3
    for i in (2, 1, 0):
        gW[i] = hs[i].T @ d
        gB[i] = d.sum(0)
        if i > 0:
            d = (d @ W[i].T) * (hs[i] > 0)
    grads = gW + gB
    a = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    for j, (p_, g) in enumerate(zip(params, grads)):
        if masks[j] is not None:
            g = g * masks[j]
        m1[j] *= b1; m1[j] += (1 - b1) * g
        m2[j] *= b2; m2[j] += (1 - b2) * g * g
        p_ -= a * m1[j] / (np.sqrt(m2[j]) + eps)

ts = []
for t in range(1, 221):
    i = (t * 60) % 6000
    s = time.perf_counter()
    step(t, X[i:i + 60], Y[i:i + 60])
    if t > 20:
        ts.append((time.perf_counter() - s) * 1000)
ts.sort()
blas = 'unknown'
try:
    cfg = np.show_config(mode='dicts')
    blas = cfg['Build Dependencies']['blas']['name']
except Exception:
    pass
print(f'numpy {np.__version__} ({blas}), threads={os.environ.get("OPENBLAS_NUM_THREADS", "default")}: '
      f'LeNet-300-100 step median {ts[len(ts)//2]:.2f} ms, p10 {ts[len(ts)//10]:.2f} ms, load {os.getloadavg()[0]:.2f}')
