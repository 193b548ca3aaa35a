"""Fused training step: forward, backward, loss and optimizer update in one compiled call.

The op table (:mod:`.ops`) is the specification; this module computes the same maths
for the steps of a :class:`~neuralogic_py.neural.program.Program`, one neuron row at a
time, without a tape, and is tested against the table (``tests/test_fused.py``).
Everything lives in one float64 buffer ``X``: parameters first, then constant facts,
then one slot per neuron row (its value, row-major ``(r, c)``); ``PRE`` holds the
pre-activation value of rule and atom rows at the same offsets and ``GX`` the
gradient of everything. A *row* is addressed by its global id ``g``:
``rows[g] = (offset, r, c, step)``, where ``step`` is the step computing it, ``S``
(the number of steps) for a parameter, and ``CONSTANT`` for a constant.

One call of :func:`train_step` for the output rows of a batch:

1. **reach**: from the outputs back through every edge, the rows the batch needs,
   bucketed per step (work proportional to the rows needed, not to the network:
   a new random batch costs what a fixed one costs);
2. **forward** over the steps in order, on their needed rows (per row, with ``x_j``
   the inputs, ``W_j`` the weights and ``w.x`` the reference's ``times``)::

       rule         z = comb(offset, W_1.neg?(x_1), ..., W_p.neg?(x_p)),  y = act(z)
       aggregation  y = W_head . agg(members)
       atom         z = W_head . x  or  comb(members, offsets),            y = act(z)

3. **loss** of the outputs against the targets, the batch mean weighted by
   importance, and its gradient seeded into ``GX``;
4. **backward** over the steps in reverse, each the VJP of its forward (the
   ``times`` VJP is ``gW += g x^T, gx += W^T g``, or the scalar cases; max/min route
   the gradient to the first input attaining the extreme, as ``ops``);
5. **update**: if the error and every touched gradient are finite, Adam or SGD
   (with weight decay and gradient clipping as :mod:`neuralogic_py.learn.optimizers`)
   on the touched learnable parameters only, the parameters the batch's rows read.

Codes (activations, combinations, kinds, losses) are the module constants below.
"""

from __future__ import annotations

import math

import numpy as np

from .jit import numba

_nb = numba()
if _nb is None:  # pragma: no cover - guarded by jit.available() at every import site
    raise ImportError("numba is not installed")
# x/0 is inf or nan, as in numpy. No kernel allocates (the caller passes work space), so none needs the
# runtime's reference counting (_nrt=False): a call passing arrays then costs nothing, where counting
# costs ~20 ns per call.
_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")
_njit = _nb.njit(_nrt=False, **_OPTIONS)
_TYPES = {"f": _nb.types.float64[::1], "F": _nb.types.float64[:, ::1], "I": _nb.types.int64[::1],
          "II": _nb.types.int64[:, ::1], "i": _nb.types.int64}


def _typed(args: str):
    """A kernel compiled for these argument types only (``f`` float vector, ``F`` float matrix, ``I`` and
    ``II`` the int ones, ``i`` an int): call sites passing a literal 0 then share one compilation."""
    return _nb.njit(_nb.types.void(*(_TYPES[a] for a in args.split())), _nrt=False, **_OPTIONS)

# -- codes ------------------------------------------------------------------------------------

ACTIVATIONS = {name: i for i, name in enumerate((
    "identity", "sigmoid", "tanh", "relu", "leakyrelu", "signum", "lukasiewicz", "exp", "log", "sqrt",
    "inverse", "reverse"))}
COMBINATIONS = {name: i for i, name in enumerate(("first", "one", "sum", "avg", "max", "min", "count",
                                                  "elproduct"))}
FIRST, ONE, SUM, AVG, MAX, MIN, COUNT, ELPRODUCT = range(8)
RULE, AGGREGATION, ATOM_FIRST, ATOM_ONE, ATOM_SEGMENT = range(5)
LOSSES = {"mse": 0, "bce_logits": 1, "softmax_crossentropy": 2, "crossentropy": 3}
ADAM, SGD = 0, 1
CONSTANT = -2
SATURATION = 100.0
LEAKY_SLOPE = 0.01
MISSING_LOG = 100.0

# step header fields
KIND, N, ROW0, ACT, COMB, NEG, NPOS, B_IN, B_W, B_SOFT, B_OFF, B_PTR, B_HEAD, HR, HC = range(15)
FIELDS = 15
# row fields
OFF, RR, RC, STEP = range(4)


# -- element-wise functions and their derivatives (ops: the activation rows) ------------------

@_njit
def activate(code, z):
    if code == 0:
        return z
    if code == 1 or code == 6:
        if z > SATURATION:
            return 1.0
        if z < -SATURATION:
            return 0.0
        if code == 1:
            return 1.0 / (1.0 + math.exp(-z))
        return 1.0 / (1.0 + math.exp(-(6.0 * z + 0.5)))
    if code == 2:
        return math.tanh(z)
    if code == 3:
        return z if z > 0.0 else 0.0
    if code == 4:
        return z if z > 0.0 else LEAKY_SLOPE * z
    if code == 5:
        return 1.0 if z > 0.0 else 0.0
    if code == 7:
        return math.exp(z)
    if code == 8:
        return np.log(z)
    if code == 9:
        return np.sqrt(z)
    if code == 10:
        return 1.0 / z
    return 1.0 - z


@_njit
def derivative(code, z, y):
    """d act(z) / dz from the input z and the value y = act(z)."""
    if code == 0:
        return 1.0
    if code == 1:
        return y * (1.0 - y) if abs(z) <= SATURATION else 0.0
    if code == 6:
        return 6.0 * y * (1.0 - y) if abs(z) <= SATURATION else 0.0
    if code == 2:
        return 1.0 - y * y
    if code == 3:
        return 1.0 if z > 0.0 else 0.0
    if code == 4:
        return 1.0 if z > 0.0 else LEAKY_SLOPE
    if code == 5:
        return 0.0
    if code == 7:
        return y
    if code == 8:
        return 1.0 / z
    if code == 9:
        return 0.5 / y
    if code == 10:
        return -y * y
    return -1.0


# -- times: the reference's w.times(x) (ops.times) --------------------------------------------

@_typed("f i i i f i i i f i")
def times(A, ao, ar, ac, B, bo, br, bc, out, oo):
    """out = a.b: scalar a or scalar b multiply element-wise, else the matrix product."""
    if ar == 1 and ac == 1:
        a = A[ao]
        for k in range(br * bc):
            out[oo + k] = a * B[bo + k]
    elif br == 1 and bc == 1:
        b = B[bo]
        for k in range(ar * ac):
            out[oo + k] = A[ao + k] * b
    else:
        for i in range(ar):
            for j in range(bc):
                s = 0.0
                for k in range(ac):
                    s += A[ao + i * ac + k] * B[bo + k * bc + j]
                out[oo + i * bc + j] = s


@_typed("f i f i i i f i i i f i f i")
def times_vjp(G, go, A, ao, ar, ac, B, bo, br, bc, GA, gao, GB, gbo):
    """Accumulate the gradients of a.b: GA += g b^T, GB += a^T g (or the scalar cases)."""
    if ar == 1 and ac == 1:
        a = A[ao]
        s = 0.0
        for k in range(br * bc):
            s += G[go + k] * B[bo + k]
            GB[gbo + k] += a * G[go + k]
        GA[gao] += s
    elif br == 1 and bc == 1:
        b = B[bo]
        s = 0.0
        for k in range(ar * ac):
            s += G[go + k] * A[ao + k]
            GA[gao + k] += G[go + k] * b
        GB[gbo] += s
    else:
        for i in range(ar):
            for j in range(bc):
                g = G[go + i * bc + j]
                if g == 0.0:
                    continue
                for k in range(ac):
                    GA[gao + i * ac + k] += g * B[bo + k * bc + j]
                    GB[gbo + k * bc + j] += A[ao + i * ac + k] * g


@_njit
def times_shape(ar, ac, br, bc):
    if ar == 1 and ac == 1:
        return br, bc
    if br == 1 and bc == 1:
        return ar, ac
    return ar, bc


# -- reach: which rows a batch needs -----------------------------------------------------------

@_njit
def _mark(g, rows, need, bucket, bstart, cnt):
    st = rows[g, STEP]
    if st == CONSTANT or need[g]:
        return
    need[g] = 1
    bucket[bstart[st] + cnt[st]] = g
    cnt[st] += 1


@_njit
def reach(steps, ints, rows, outputs, need, bucket, bstart, cnt):
    """Bucket per step the rows that ``outputs`` depend on (and the parameters they read, bucket S)."""
    for i in range(len(outputs)):
        _mark(outputs[i], rows, need, bucket, bstart, cnt)
    for s in range(len(steps) - 1, -1, -1):
        h = steps[s]
        kind, n, row0 = h[KIND], h[N], h[ROW0]
        for q in range(bstart[s], bstart[s] + cnt[s]):
            i = bucket[q] - row0
            if kind == RULE:
                for j in range(h[NPOS]):
                    _mark(ints[h[B_IN] + j * n + i], rows, need, bucket, bstart, cnt)
                    w = ints[h[B_W] + j * n + i]
                    if w >= 0:
                        _mark(w, rows, need, bucket, bstart, cnt)
                if h[B_OFF] >= 0:
                    _mark(ints[h[B_OFF] + i], rows, need, bucket, bstart, cnt)
            elif kind == ATOM_FIRST:
                _mark(ints[h[B_IN] + i], rows, need, bucket, bstart, cnt)
            elif kind == AGGREGATION or kind == ATOM_SEGMENT:
                for k in range(ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]):
                    _mark(ints[k], rows, need, bucket, bstart, cnt)
            if h[B_HEAD] >= 0:
                _mark(ints[h[B_HEAD] + i], rows, need, bucket, bstart, cnt)


@_njit
def release(rows, need, bucket, bstart, cnt):
    """Forget the marks of :func:`reach`."""
    for s in range(len(cnt)):
        for q in range(bstart[s], bstart[s] + cnt[s]):
            need[bucket[q]] = 0
        cnt[s] = 0


# -- combinations of a row's items (offset and weighted inputs, or members) ---------------------

@_typed("i F i i f i")
def _combine(comb, items, k, size, out, oo):
    """out[oo:oo+size] = comb over the k items (rows of ``items``, broadcast already)."""
    for e in range(size):
        if comb == ONE:
            v = 1.0
        elif comb == COUNT:
            v = float(k)
        elif comb == FIRST:
            v = items[0, e]
        else:
            v = items[0, e]
            for t in range(1, k):
                x = items[t, e]
                if comb == SUM or comb == AVG:
                    v += x
                elif comb == MAX:
                    if x > v:
                        v = x
                elif comb == MIN:
                    if x < v:
                        v = x
                else:
                    v *= x
            if comb == AVG:
                v /= k
        out[oo + e] = v


@_typed("i F i i f i f F")
def _item_grads(comb, items, k, size, z, zo, g, gitems):
    """gitems[t] = d out / d item t times g, for the combination of :func:`_combine` (element-wise)."""
    for e in range(size):
        ge = g[e]
        if comb == SUM or comb == FIRST:
            for t in range(k):
                gitems[t, e] = ge
        elif comb == AVG:
            for t in range(k):
                gitems[t, e] = ge / k
        elif comb == MAX or comb == MIN:
            hit = False
            for t in range(k):
                if not hit and items[t, e] == z[zo + e]:
                    gitems[t, e] = ge
                    hit = True
                else:
                    gitems[t, e] = 0.0
        elif comb == ELPRODUCT:
            for t in range(k):
                p = 1.0
                for u in range(k):
                    if u != t:
                        p *= items[u, e]
                gitems[t, e] = ge * p
        else:  # ONE, COUNT: constants
            for t in range(k):
                gitems[t, e] = 0.0


@_typed("f i i i i i F i")
def _load(X, off, r, c, R, C, items, t):
    """Item t = the (r, c) value at X[off], broadcast to (R, C) as numpy does."""
    for i in range(R):
        si = i if r > 1 else 0
        for j in range(C):
            sj = j if c > 1 else 0
            items[t, i * C + j] = X[off + si * c + sj]


@_typed("F i i i f i i i")
def _store_grad(gitems, t, R, C, GX, off, r, c):
    """GX[off] += item t's gradient summed back over the broadcast axes."""
    for i in range(R):
        si = i if r > 1 else 0
        for j in range(C):
            sj = j if c > 1 else 0
            GX[off + si * c + sj] += gitems[t, i * C + j]


# -- rule rows -----------------------------------------------------------------------------------

@_njit
def _rule_items(h, i, ints, rows, X, items, xin, term):
    """The items of rule row i (offset first, then each weighted, negated input), broadcast to (R, C)."""
    n, R, C = h[N], h[HR], h[HC]
    k = 0
    if h[B_OFF] >= 0:
        p = ints[h[B_OFF] + i]
        _load(X, rows[p, OFF], rows[p, RR], rows[p, RC], R, C, items, k)
        k += 1
    for j in range(h[NPOS]):
        a = ints[h[B_IN] + j * n + i]
        ao, ar, ac = rows[a, OFF], rows[a, RR], rows[a, RC]
        src, so = _negated(h, X, ao, ar * ac, ints[h[B_SOFT] + j], xin)
        w = ints[h[B_W] + j * n + i]
        if w >= 0:
            times(X, rows[w, OFF], rows[w, RR], rows[w, RC], src, so, ar, ac, term, 0)
            tr, tc = times_shape(rows[w, RR], rows[w, RC], ar, ac)
            _load(term, 0, tr, tc, R, C, items, k)
        else:
            _load(src, so, ar, ac, R, C, items, k)
        k += 1
    return k


@_njit
def _additive(comb):
    """Sum, avg and a single input: the gradient of every item is the output's (over k for avg)."""
    return comb == SUM or comb == AVG or comb == FIRST


@_njit
def _fits(r, c, size):
    """An item of shape (r, c) is added as is (its size is the output's) or as a scalar broadcast."""
    return r * c == size or r * c == 1


@_typed("f i i f i i")
def _add_into(out, oo, size, src, so, ssize):
    if ssize == size:
        for e in range(size):
            out[oo + e] += src[so + e]
    else:
        v = src[so]
        for e in range(size):
            out[oo + e] += v


@_njit
def _negated(h, X, ao, n, soft, xin):
    """The input at X[ao] through the step's input function (``~b``, ``sqrt(b)``; into xin) when soft;
    returns (array, offset)."""
    if not soft:
        return X, ao
    for e in range(n):
        xin[e] = activate(h[NEG], X[ao + e])
    return xin, 0


@_njit
def _input_grad(h, X, GX, ao, n, soft, xin, gxin):
    """GX[ao:ao+n] += the gradient ``gxin`` of the (negated, when soft: xin) input, through the negation."""
    for e in range(n):
        GX[ao + e] += gxin[e] * derivative(h[NEG], X[ao + e], xin[e]) if soft else gxin[e]


@_njit
def _rule_fits(h, i, ints, rows):
    """Whether rule row i's items all fit the additive fast path's broadcasting (:func:`_fits`)."""
    n, size = h[N], h[HR] * h[HC]
    if h[B_OFF] >= 0:
        p = ints[h[B_OFF] + i]
        if not _fits(rows[p, RR], rows[p, RC], size):
            return False
    for j in range(h[NPOS]):
        a = ints[h[B_IN] + j * n + i]
        ar, ac = rows[a, RR], rows[a, RC]
        w = ints[h[B_W] + j * n + i]
        if w >= 0:
            ar, ac = times_shape(rows[w, RR], rows[w, RC], ar, ac)
        if not _fits(ar, ac, size):
            return False
    return True


@_njit
def _rule_forward(h, active, ints, rows, X, PRE, items, xin, term):
    n, size, comb = h[N], h[HR] * h[HC], h[COMB]
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        if _additive(comb) and _rule_fits(h, i, ints, rows):
            for e in range(size):
                PRE[off + e] = 0.0
            k = 0
            if h[B_OFF] >= 0:
                p = ints[h[B_OFF] + i]
                _add_into(PRE, off, size, X, rows[p, OFF], rows[p, RR] * rows[p, RC])
                k += 1
            for j in range(h[NPOS]):
                a = ints[h[B_IN] + j * n + i]
                ar, ac = rows[a, RR], rows[a, RC]
                src, so = _negated(h, X, rows[a, OFF], ar * ac, ints[h[B_SOFT] + j], xin)
                w = ints[h[B_W] + j * n + i]
                if w >= 0:
                    times(X, rows[w, OFF], rows[w, RR], rows[w, RC], src, so, ar, ac, term, 0)
                    tr, tc = times_shape(rows[w, RR], rows[w, RC], ar, ac)
                    _add_into(PRE, off, size, term, 0, tr * tc)
                else:
                    _add_into(PRE, off, size, src, so, ar * ac)
                k += 1
            if comb == AVG:
                for e in range(size):
                    PRE[off + e] /= k
        else:
            k = _rule_items(h, i, ints, rows, X, items, xin, term)
            _combine(comb, items, k, size, PRE, off)
        for e in range(size):
            X[off + e] = activate(h[ACT], PRE[off + e])


@_njit
def _spread(gz, size, scale_by, tsize, out):
    """The gradient of an item of size ``tsize`` from the output's ``gz``: as is, or summed for a scalar;
    divided by ``scale_by`` (avg's k; 1 otherwise)."""
    if tsize == size:
        for e in range(size):
            out[e] = gz[e] / scale_by if scale_by != 1 else gz[e]
    else:
        t = 0.0
        for e in range(size):
            t += gz[e] / scale_by if scale_by != 1 else gz[e]
        out[0] = t


@_njit
def _rule_backward_additive(h, i, ints, rows, X, GX, gz, gterm, xin, gxin):
    """Backward of an additive rule row: no item is recomputed, only the weighted inputs' VJPs."""
    n, size = h[N], h[HR] * h[HC]
    k = h[NPOS] + (1 if h[B_OFF] >= 0 else 0)
    scale_by = k if h[COMB] == AVG else 1
    if h[B_OFF] >= 0:
        p = ints[h[B_OFF] + i]
        psize = rows[p, RR] * rows[p, RC]
        _spread(gz, size, scale_by, psize, gterm)
        for e in range(psize):
            GX[rows[p, OFF] + e] += gterm[e]
    for j in range(h[NPOS]):
        a = ints[h[B_IN] + j * n + i]
        ao, ar, ac = rows[a, OFF], rows[a, RR], rows[a, RC]
        soft = ints[h[B_SOFT] + j]
        keep = rows[a, STEP] != CONSTANT
        w = ints[h[B_W] + j * n + i]
        if w >= 0:
            wr, wc = rows[w, RR], rows[w, RC]
            tr, tc = times_shape(wr, wc, ar, ac)
            _spread(gz, size, scale_by, tr * tc, gterm)
            src, so = _negated(h, X, ao, ar * ac, soft, xin)
            if keep and not soft:
                times_vjp(gterm, 0, X, rows[w, OFF], wr, wc, X, ao, ar, ac, GX, rows[w, OFF], GX, ao)
                continue
            for e in range(ar * ac):
                gxin[e] = 0.0
            times_vjp(gterm, 0, X, rows[w, OFF], wr, wc, src, so, ar, ac, GX, rows[w, OFF], gxin, 0)
        else:
            _spread(gz, size, scale_by, ar * ac, gxin)
            _negated(h, X, ao, ar * ac, soft, xin)
        if keep:
            _input_grad(h, X, GX, ao, ar * ac, soft, xin, gxin)


@_njit
def _rule_backward(h, active, ints, rows, X, PRE, GX, items, gitems, xin, term, gz, gterm, gxin):
    n, R, C = h[N], h[HR], h[HC]
    size = R * C
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        nonzero = False
        for e in range(size):
            gz[e] = GX[off + e] * derivative(h[ACT], PRE[off + e], X[off + e])
            nonzero = nonzero or gz[e] != 0.0
        if not nonzero or h[COMB] == ONE or h[COMB] == COUNT:
            continue
        if _additive(h[COMB]) and _rule_fits(h, i, ints, rows):
            _rule_backward_additive(h, i, ints, rows, X, GX, gz, gterm, xin, gxin)
            continue
        k = _rule_items(h, i, ints, rows, X, items, xin, term)
        _item_grads(h[COMB], items, k, size, PRE, off, gz, gitems)
        t = 0
        if h[B_OFF] >= 0:
            p = ints[h[B_OFF] + i]
            _store_grad(gitems, 0, R, C, GX, rows[p, OFF], rows[p, RR], rows[p, RC])
            t = 1
        for j in range(h[NPOS]):
            a = ints[h[B_IN] + j * n + i]
            ao, ar, ac = rows[a, OFF], rows[a, RR], rows[a, RC]
            soft = ints[h[B_SOFT] + j]
            w = ints[h[B_W] + j * n + i]
            src, so = _negated(h, X, ao, ar * ac, soft, xin)
            for e in range(ar * ac):
                gxin[e] = 0.0
            if w >= 0:
                wr, wc = rows[w, RR], rows[w, RC]
                tr, tc = times_shape(wr, wc, ar, ac)
                for e in range(tr * tc):
                    gterm[e] = 0.0
                _store_grad(gitems, t, R, C, gterm, 0, tr, tc)
                times_vjp(gterm, 0, X, rows[w, OFF], wr, wc, src, so, ar, ac, GX, rows[w, OFF], gxin, 0)
            else:
                _store_grad(gitems, t, R, C, gxin, 0, ar, ac)
            if rows[a, STEP] != CONSTANT:
                _input_grad(h, X, GX, ao, ar * ac, soft, xin, gxin)
            t += 1


# -- aggregation and atom rows ---------------------------------------------------------------------

@_njit
def _members(h, i, ints, rows, X, items, R, C):
    """The members of row i, broadcast to (R, C), as items; returns their count."""
    lo, hi = ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]
    for t in range(hi - lo):
        m = ints[lo + t]
        _load(X, rows[m, OFF], rows[m, RR], rows[m, RC], R, C, items, t)
    return hi - lo


@_njit
def _members_fit(h, i, ints, rows, size):
    """Whether every member of row i fits the additive fast path's broadcasting (:func:`_fits`)."""
    for k in range(ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]):
        m = ints[k]
        if not _fits(rows[m, RR], rows[m, RC], size):
            return False
    return True


@_typed("I i I II f f i i")
def _sum_members(h, i, ints, rows, X, out, oo, size):
    """out[oo:oo+size] = the sum (avg: mean) of row i's members, added in member order."""
    lo, hi = ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]
    for e in range(size):
        out[oo + e] = 0.0
    for k in range(lo, hi):
        m = ints[k]
        _add_into(out, oo, size, X, rows[m, OFF], rows[m, RR] * rows[m, RC])
    if h[COMB] == AVG:
        for e in range(size):
            out[oo + e] /= hi - lo


@_njit
def _spread_members(h, i, ints, rows, GX, gz, size, gterm):
    """Each member of row i gets the output's gradient (over the count for avg; summed for a scalar)."""
    lo, hi = ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]
    scale_by = hi - lo if h[COMB] == AVG else 1
    for k in range(lo, hi):
        m = ints[k]
        if rows[m, STEP] == CONSTANT:
            continue
        msize = rows[m, RR] * rows[m, RC]
        _spread(gz, size, scale_by, msize, gterm)
        for e in range(msize):
            GX[rows[m, OFF] + e] += gterm[e]


@_njit
def _members_backward(h, i, ints, rows, GX, items, k, R, C, z, zo, gz, gitems):
    """Each member of row i (loaded in ``items``, combined into ``z[zo:]``) gets its part of ``gz``."""
    _item_grads(h[COMB], items, k, R * C, z, zo, gz, gitems)
    lo = ints[h[B_PTR] + i]
    for t in range(k):
        m = ints[lo + t]
        if rows[m, STEP] != CONSTANT:
            _store_grad(gitems, t, R, C, GX, rows[m, OFF], rows[m, RR], rows[m, RC])


@_njit
def _reduced(h, i, ints, rows, X, items, reduced):
    """The aggregated value of row i into ``reduced``, before the head weight; returns its shape.

    ONE is the constant 1 and COUNT the member count, both scalars (ops: segment_count).
    """
    comb = h[COMB]
    if comb == ONE or comb == COUNT:
        reduced[0] = 1.0 if comb == ONE else float(ints[h[B_PTR] + i + 1] - ints[h[B_PTR] + i])
        return 1, 1
    m = ints[ints[h[B_PTR] + i]]
    mr, mc = rows[m, RR], rows[m, RC]
    if _additive(comb):
        _sum_members(h, i, ints, rows, X, reduced, 0, mr * mc)
    else:
        k = _members(h, i, ints, rows, X, items, mr, mc)
        _combine(comb, items, k, mr * mc, reduced, 0)
    return mr, mc


@_njit
def _aggregation_forward(h, active, ints, rows, X, items, reduced):
    comb = h[COMB]
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        mr, mc = _reduced(h, i, ints, rows, X, items, reduced)
        if h[B_HEAD] >= 0:
            w = ints[h[B_HEAD] + i]
            times(X, rows[w, OFF], rows[w, RR], rows[w, RC], reduced, 0, mr, mc, X, off)
        else:
            for e in range(mr * mc):
                X[off + e] = reduced[e]


@_njit
def _aggregation_backward(h, active, ints, rows, X, GX, items, gitems, reduced, gz):
    comb = h[COMB]
    if comb == ONE or comb == COUNT:
        if h[B_HEAD] < 0:
            return
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        if h[B_HEAD] >= 0 or not _additive(comb):
            mr, mc = _reduced(h, i, ints, rows, X, items, reduced)
        else:  # the sum's gradient needs no values
            m = ints[ints[h[B_PTR] + i]]
            mr, mc = rows[m, RR], rows[m, RC]
        k = ints[h[B_PTR] + i + 1] - ints[h[B_PTR] + i]
        size = mr * mc
        if h[B_HEAD] >= 0:
            w = ints[h[B_HEAD] + i]
            for e in range(size):
                gz[e] = 0.0
            times_vjp(GX, off, X, rows[w, OFF], rows[w, RR], rows[w, RC], reduced, 0, mr, mc,
                      GX, rows[w, OFF], gz, 0)
        else:
            for e in range(size):
                gz[e] = GX[off + e]
        if comb == ONE or comb == COUNT:
            continue
        if _additive(comb):
            _spread_members(h, i, ints, rows, GX, gz, size, reduced)
            continue
        _members_backward(h, i, ints, rows, GX, items, k, mr, mc, reduced, 0, gz, gitems)


@_njit
def _atom_forward(h, active, ints, rows, X, PRE, items):
    R, C = h[HR], h[HC]
    size = R * C
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        if h[KIND] == ATOM_ONE:
            PRE[off] = 1.0
        elif h[KIND] == ATOM_FIRST:
            a = ints[h[B_IN] + i]
            if h[B_HEAD] >= 0:
                w = ints[h[B_HEAD] + i]
                times(X, rows[w, OFF], rows[w, RR], rows[w, RC], X, rows[a, OFF], rows[a, RR], rows[a, RC],
                      PRE, off)
            else:
                for e in range(size):
                    PRE[off + e] = X[rows[a, OFF] + e]
        elif _additive(h[COMB]) and _members_fit(h, i, ints, rows, size):
            _sum_members(h, i, ints, rows, X, PRE, off, size)
        else:
            k = _members(h, i, ints, rows, X, items, R, C)
            _combine(h[COMB], items, k, size, PRE, off)
        for e in range(size):
            X[off + e] = activate(h[ACT], PRE[off + e])


@_njit
def _atom_backward(h, active, ints, rows, X, PRE, GX, items, gitems, gz):
    if h[KIND] == ATOM_ONE:
        return
    R, C = h[HR], h[HC]
    size = R * C
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        for e in range(size):
            gz[e] = GX[off + e] * derivative(h[ACT], PRE[off + e], X[off + e])
        if h[KIND] == ATOM_FIRST:
            a = ints[h[B_IN] + i]
            if rows[a, STEP] == CONSTANT and h[B_HEAD] < 0:
                continue
            if h[B_HEAD] >= 0:
                w = ints[h[B_HEAD] + i]
                times_vjp(gz, 0, X, rows[w, OFF], rows[w, RR], rows[w, RC], X, rows[a, OFF], rows[a, RR],
                          rows[a, RC], GX, rows[w, OFF], GX, rows[a, OFF])
            else:
                for e in range(size):
                    GX[rows[a, OFF] + e] += gz[e]
        elif _additive(h[COMB]) and _members_fit(h, i, ints, rows, size):
            _spread_members(h, i, ints, rows, GX, gz, size, items[0])
        elif h[COMB] != COUNT:
            k = _members(h, i, ints, rows, X, items, R, C)
            _members_backward(h, i, ints, rows, GX, items, k, R, C, PRE, off, gz, gitems)


# -- the passes ------------------------------------------------------------------------------------

@_njit
def zero_gradients(rows, GX, bucket, bstart, cnt):
    for s in range(len(cnt)):
        for q in range(bstart[s], bstart[s] + cnt[s]):
            g = bucket[q]
            off = rows[g, OFF]
            for e in range(rows[g, RR] * rows[g, RC]):
                GX[off + e] = 0.0


# -- losses (ops: mse, bce_logits, softmax_ce_logits, crossentropy) ----------------------------------

@_njit
def _neg_log(p):
    return -math.log(p) if p > 0.0 else MISSING_LOG


@_njit
def _inverse(p):
    return 1.0 / p if p > 0.0 else 0.0


@_njit
def loss(code, rows, X, GX, outputs, targets, weights, seed):
    """The batch error (mean, or importance-weighted mean) and, when ``seed``, its gradient into GX."""
    n = len(outputs)
    total_w = 0.0
    for i in range(n):
        total_w += weights[i]
    error = 0.0
    for i in range(n):
        g = outputs[i]
        off, r, c = rows[g, OFF], rows[g, RR], rows[g, RC]
        size = r * c
        scale = weights[i] / total_w
        e = 0.0
        if code == 0:
            for k in range(size):
                d = X[off + k] - targets[i, k]
                e += d * d
            e /= size
        elif code == 1:
            for k in range(size):
                z = X[off + k]
                e += max(z, 0.0) - z * targets[i, k] + math.log1p(math.exp(-abs(z)))
            e /= size
        elif code == 2:
            shift = X[off]
            for k in range(size):
                shift = max(shift, X[off + k])
            s = 0.0
            for k in range(size):
                s += math.exp(X[off + k] - shift)
            log_norm = math.log(s) + shift
            for k in range(size):
                e -= targets[i, k] * (X[off + k] - log_norm)
        else:
            if size == 1:
                o = X[off]
                e = _neg_log(o if targets[i, 0] > 0.5 else 1.0 - o)
            else:
                for k in range(size):
                    e += targets[i, k] * _neg_log(X[off + k])
        error += scale * e
        if not seed or rows[g, STEP] == CONSTANT:
            continue
        if code == 0:
            for k in range(size):
                GX[off + k] += scale * 2.0 * (X[off + k] - targets[i, k]) / size
        elif code == 1:
            for k in range(size):
                z = X[off + k]
                ez = math.exp(-abs(z))
                sig = 1.0 / (1.0 + ez) if z >= 0 else ez / (1.0 + ez)
                GX[off + k] += scale * (sig - targets[i, k]) / size
        elif code == 2:
            shift = X[off]
            for k in range(size):
                shift = max(shift, X[off + k])
            s = 0.0
            tsum = 0.0
            for k in range(size):
                s += math.exp(X[off + k] - shift)
                tsum += targets[i, k]
            for k in range(size):
                GX[off + k] += scale * (math.exp(X[off + k] - shift) / s * tsum - targets[i, k])
        else:
            if size == 1:
                o = X[off]
                local = -_inverse(o) if targets[i, 0] > 0.5 else _inverse(1.0 - o)
                GX[off] += scale * local
            else:
                for k in range(size):
                    GX[off + k] += scale * (-targets[i, k] * _inverse(X[off + k]))
    return error


# -- the optimizer update on the touched learnable parameters ------------------------------------------

@_njit
def update(rows, X, GX, M, V, touched, learnable, kind, hyper, t):
    """Adam or SGD (learn.optimizers) on the touched learnable parameters; False if a gradient is not finite.

    ``hyper`` = (lr, beta1 or momentum, beta2, eps, weight decay, decoupled, clip norm or -1 for none).
    """
    lr, b1, b2, eps, wd, decoupled, clip = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5], hyper[6]
    norm2 = 0.0
    for p in touched:
        if not learnable[p]:
            continue
        off = rows[p, OFF]
        for e in range(rows[p, RR] * rows[p, RC]):
            g = GX[off + e]
            if not math.isfinite(g):
                return False
            norm2 += g * g
    scale = 1.0
    if clip >= 0.0:
        norm = math.sqrt(norm2)
        if norm > clip:
            scale = clip / norm
    c1 = 1.0 - b1 ** t
    c2 = 1.0 - b2 ** t
    for p in touched:
        if not learnable[p]:
            continue
        off = rows[p, OFF]
        for e in range(off, off + rows[p, RR] * rows[p, RC]):
            g = GX[e]
            if scale != 1.0:
                g = g * scale
            if wd != 0.0 and decoupled == 0.0:
                g = g + wd * X[e]
            if kind == ADAM:
                M[e] = b1 * M[e] + (1.0 - b1) * g
                V[e] = b2 * V[e] + (1.0 - b2) * (g * g)
                if decoupled != 0.0 and wd != 0.0:
                    X[e] -= lr * wd * X[e]
                X[e] -= lr * (M[e] / c1) / (math.sqrt(V[e] / c2) + eps)
            else:
                if b1 != 0.0:
                    M[e] = b1 * M[e] + g
                    g = M[e]
                X[e] -= lr * g
    return True


FORWARD, GRADIENTS, TRAIN = range(3)


@_njit
def run(mode, steps, ints, rows, X, PRE, GX, M, V, need, bucket, bstart, cnt, items, gitems, scratch,
        outputs, targets, weights, loss_code, learnable, opt_kind, hyper, t):
    """The one entry point (one compilation): ``FORWARD`` computes the rows ``outputs`` need;
    ``GRADIENTS`` also the batch error and GX; ``TRAIN`` also the update (module docstring).

    Returns (error, whether it and the gradients are finite, how many parameters the batch
    touched: their ids stay at the start of the parameter bucket until the next call).
    ``items``, ``gitems`` (max items per row x widest value) and ``scratch`` (6 x widest value)
    are work space, allocated once by the caller, so no kernel allocates or counts references.
    """
    xin, term, reduced, gz, gterm, gxin = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5]
    reach(steps, ints, rows, outputs, need, bucket, bstart, cnt)
    S = len(steps)
    for s in range(S):  # forward, in step order
        if cnt[s] == 0:
            continue
        h = steps[s]
        active = bucket[bstart[s]:bstart[s] + cnt[s]]
        if h[KIND] == RULE:
            _rule_forward(h, active, ints, rows, X, PRE, items, xin, term)
        elif h[KIND] == AGGREGATION:
            _aggregation_forward(h, active, ints, rows, X, items, reduced)
        else:
            _atom_forward(h, active, ints, rows, X, PRE, items)
    error, ok = 0.0, True
    if mode != FORWARD:
        zero_gradients(rows, GX, bucket, bstart, cnt)
        error = loss(loss_code, rows, X, GX, outputs, targets, weights, True)
        ok = math.isfinite(error)
    if mode != FORWARD and ok:
        for s in range(S - 1, -1, -1):  # backward, in reverse step order
            if cnt[s] == 0:
                continue
            h = steps[s]
            active = bucket[bstart[s]:bstart[s] + cnt[s]]
            if h[KIND] == RULE:
                _rule_backward(h, active, ints, rows, X, PRE, GX, items, gitems, xin, term, gz, gterm, gxin)
            elif h[KIND] == AGGREGATION:
                _aggregation_backward(h, active, ints, rows, X, GX, items, gitems, xin, gz)
            else:
                _atom_backward(h, active, ints, rows, X, PRE, GX, items, gitems, gz)
        if mode == TRAIN:
            ok = update(rows, X, GX, M, V, bucket[bstart[S]:bstart[S] + cnt[S]], learnable, opt_kind, hyper, t)
    touched = cnt[S]
    release(rows, need, bucket, bstart, cnt)
    return error, ok, touched
