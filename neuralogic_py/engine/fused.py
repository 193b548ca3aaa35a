"""Fused training step: forward, backward, loss and optimizer update in one compiled call.

The op table (:mod:`.ops`) is the specification; this module computes the same maths
for the steps of a :class:`~neuralogic_py.neural.program.Program`, one neuron row at a
time, without a tape, and is tested against the table (``tests/test_fused.py``).
Everything lives in one float64 buffer ``X``: parameters first, then constant facts,
then one slot per neuron row (its value, row-major ``(r, c)``); ``PRE`` holds the
pre-activation value of rule and atom rows under log at the same offsets (:func:`_pre`) and ``GX`` the
gradient of everything. A *row* is addressed by its global id ``g``:
``rows[g] = (offset, r, c, step)``, where ``step`` is the step computing it, ``S``
(the number of steps) for a parameter, and ``CONSTANT`` for a constant.

One call of :func:`run` for the output rows of a batch:

1. **reach**: from the outputs back through every edge, the rows the batch needs,
   bucketed per step (work proportional to the rows needed, not to the network:
   a new random batch costs what a fixed one costs);
2. **forward** over the steps in order, on their needed rows (per row, with ``x_j``
   the inputs, ``W_j`` the weights and ``w.x`` the reference's ``times``)::

       rule         z = comb(offset, W_1.neg?(x_1), ..., W_p.neg?(x_p)),  y = act(z)
                    (product: the left fold ((t_0.t_1).t_2)... of the items with ``.``,
                    its prefixes kept; backward walks the fold back, as the tape does)
       aggregation  y = W_head . agg(members)
       atom         z = W_head . x  or  comb(members, offsets),            y = act(z)

   Aggregations whose head weight is a matrix (a sum or mean of column vectors, as in
   every message-passing layer) go in tiles of up to ``TILE`` rows sharing the weight:
   the sums fill the rows of a tile ``A`` and ``Y = A . W^T`` is one BLAS ``dgemm``;

3. **loss** of the outputs against the targets, the batch mean weighted by
   importance, and its gradient seeded into ``GX``;
4. **backward** over the steps in reverse, each the VJP of its forward (the
   ``times`` VJP is ``gW += g x^T, gx += W^T g``, or the scalar cases, for a tile
   ``GW += G^T . A`` and ``GA = G . W``; max/min route the gradient to the first input
   attaining the extreme, as ``ops``);
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
FAST_SUMS = {"reassoc", "contract"}
_TYPES = {"f": _nb.types.float64[::1], "F": _nb.types.float64[:, ::1], "I": _nb.types.int64[::1],
          "II": _nb.types.int64[:, ::1], "i": _nb.types.int64}


def _typed(args: str, fast: bool = False):
    """A kernel compiled for these argument types only (``f`` float vector, ``F`` float matrix, ``I`` and
    ``II`` the int ones, ``i`` an int): call sites passing a literal 0 then share one compilation.
    ``fast``: its sums may be reassociated and multiply-adds fused, so they vectorise (never assumed:
    values are finite, zeros unsigned)."""
    options = dict(_OPTIONS, fastmath=FAST_SUMS) if fast else _OPTIONS
    return _nb.njit(_nb.types.void(*(_TYPES[a] for a in args.split())), _nrt=False, **options)

# -- codes ------------------------------------------------------------------------------------

ACTIVATIONS = {name: i for i, name in enumerate((
    "identity", "sigmoid", "tanh", "relu", "leakyrelu", "signum", "lukasiewicz", "exp", "log", "sqrt",
    "inverse", "reverse"))}
COMBINATIONS = {name: i for i, name in enumerate(("first", "one", "sum", "avg", "max", "min", "count",
                                                  "elproduct", "product"))}
FIRST, ONE, SUM, AVG, MAX, MIN, COUNT, ELPRODUCT, PRODUCT = range(9)
RULE, AGGREGATION, ATOM_FIRST, ATOM_ONE, ATOM_SEGMENT = range(5)
LOSSES = {"mse": 0, "bce_logits": 1, "softmax_crossentropy": 2, "crossentropy": 3}
ADAM, SGD = 0, 1
CONSTANT = -2
SATURATION = 100.0
LEAKY_SLOPE = 0.01
LOG = ACTIVATIONS["log"]
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
    """d act(z) / dz from the input z and the value y = act(z).

    Only log needs z: every other derivative here follows from y alone (relu and leakyrelu
    from the sign of y, the saturated logistic ones from y being exactly 0 or 1), so a row
    keeps its pre-activation only under log (:func:`_pre`) and passes y as z otherwise."""
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
    else:  # four rows at a time: four independent sums per element of b, each added in k order
        for j in range(bc):
            i = 0
            while i + 4 <= ar:
                r = ao + i * ac
                s0, s1, s2, s3 = 0.0, 0.0, 0.0, 0.0
                for k in range(ac):
                    b = B[bo + k * bc + j]
                    s0 += A[r + k] * b
                    s1 += A[r + ac + k] * b
                    s2 += A[r + 2 * ac + k] * b
                    s3 += A[r + 3 * ac + k] * b
                out[oo + i * bc + j] = s0
                out[oo + (i + 1) * bc + j] = s1
                out[oo + (i + 2) * bc + j] = s2
                out[oo + (i + 3) * bc + j] = s3
                i += 4
            for i in range(i, ar):
                s = 0.0
                for k in range(ac):
                    s += A[ao + i * ac + k] * B[bo + k * bc + j]
                out[oo + i * bc + j] = s


@_typed("f i f i i i f i i i f i f i", fast=True)
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
    elif bc == 1:  # matrix . vector: per row i of a with a gradient g_i, GA_i += g_i b and GB += g_i a_i
        for i in range(ar):
            g = G[go + i]
            if g == 0.0:
                continue
            r, gr = ao + i * ac, gao + i * ac
            ga, b = GA[gr:gr + ac], B[bo:bo + ac]
            for k in range(ac):
                ga[k] += g * b[k]
            gb, a = GB[gbo:gbo + ac], A[r:r + ac]
            for k in range(ac):
                gb[k] += a[k] * g
    else:  # rows of a with a gradient
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


# -- many matrix products at once: BLAS's dgemm ------------------------------------------------

TILE = 128  # rows of a tile: one BLAS call computes the matrix products of this many rows


def blas():
    """scipy's BLAS ``dgemm`` as a ctypes function, with its argument space (see :func:`gemm`).

    It is passed to :func:`run` as an argument, not read as a global: a compiled kernel that
    held its address could not be cached across processes.
    """
    import ctypes

    from numba.extending import get_cython_function_address

    pointer = ctypes.c_void_p
    dgemm = ctypes.CFUNCTYPE(None, *[pointer] * 13)(get_cython_function_address("scipy.linalg.cython_blas", "dgemm"))
    ints = np.zeros(8, np.int32)
    ints[6:8] = ord("N"), ord("T")  # the characters BLAS reads, each as the first byte of an int32
    return dgemm, ints, np.zeros(2)


@_njit
def gemm(blas, ta, tb, m, n, k, A, ao, lda, B, bo, ldb, beta, C, co, ldc):
    """``C = op(A) . op(B) + beta C`` in BLAS's column-major terms (``op`` transposes when ``ta``/``tb``),
    on float64 buffers at element offsets ``ao``, ``bo``, ``co``."""
    dgemm, ints, floats = blas
    ints[0], ints[1], ints[2], ints[3], ints[4], ints[5] = m, n, k, lda, ldb, ldc
    floats[0], floats[1] = 1.0, beta
    i, f = ints.ctypes.data, floats.ctypes.data
    dgemm(i + (28 if ta else 24), i + (28 if tb else 24), i, i + 4, i + 8, f, A.ctypes.data + 8 * ao, i + 12,
          B.ctypes.data + 8 * bo, i + 16, f + 8, C.ctypes.data + 8 * co, i + 20)


# -- reach: which rows a batch needs -----------------------------------------------------------

NEEDED = 1 << 30  # added to a row's mark while a batch needs it


@_njit
def _mark(g, marks, bucket, bstart, cnt):
    st = marks[g]
    if st == CONSTANT or st >= NEEDED:
        return
    marks[g] = st + NEEDED
    bucket[bstart[st] + cnt[st]] = g
    cnt[st] += 1


@_njit
def reach(steps, ints, marks, outputs, bucket, bstart, cnt):
    """Bucket per step the rows that ``outputs`` depend on (and the parameters they read, bucket S).

    ``marks[g]`` is the step of row g (S for a parameter, CONSTANT for a constant) as in ``rows``,
    in an array of its own (4 bytes a row, mostly in the cache) where reaching also marks the row."""
    for i in range(len(outputs)):
        _mark(outputs[i], marks, bucket, bstart, cnt)
    for s in range(len(steps) - 1, -1, -1):
        h = steps[s]
        kind, n, row0 = h[KIND], h[N], h[ROW0]
        for q in range(bstart[s], bstart[s] + cnt[s]):
            i = bucket[q] - row0
            if kind == RULE:
                for j in range(h[NPOS]):
                    _mark(ints[h[B_IN] + j * n + i], marks, bucket, bstart, cnt)
                    w = ints[h[B_W] + j * n + i]
                    if w >= 0:
                        _mark(w, marks, bucket, bstart, cnt)
                if h[B_OFF] >= 0:
                    _mark(ints[h[B_OFF] + i], marks, bucket, bstart, cnt)
            elif kind == ATOM_FIRST:
                _mark(ints[h[B_IN] + i], marks, bucket, bstart, cnt)
            elif kind == AGGREGATION or kind == ATOM_SEGMENT:
                for k in range(ints[h[B_PTR] + i], ints[h[B_PTR] + i + 1]):
                    _mark(ints[k], marks, bucket, bstart, cnt)
            if h[B_HEAD] >= 0:
                _mark(ints[h[B_HEAD] + i], marks, bucket, bstart, cnt)


@_njit
def release(marks, bucket, bstart, cnt):
    """Forget the marks of :func:`reach`."""
    for s in range(len(cnt)):
        for q in range(bstart[s], bstart[s] + cnt[s]):
            marks[bucket[q]] -= NEEDED
        cnt[s] = 0


@_njit
def first_needed(steps, ints, marks, outputs, bucket, bstart, cnt, position, uses, taken):
    """For every row of a step, its position in the step when rows are taken in the order the
    outputs (samples) first need them: sample after sample, each step's new rows in the order
    :func:`reach` finds them; rows no output needs come last. Fills ``position`` (by global id;
    -1 stays for parameters and facts) and ``uses`` (how many outputs need each row);
    ``taken`` counts per step (zeros); the rest is :func:`reach`'s work space."""
    S = len(steps)
    for o in range(len(outputs)):
        reach(steps, ints, marks, outputs[o:o + 1], bucket, bstart, cnt)
        for s in range(S):
            for q in range(bstart[s], bstart[s] + cnt[s]):
                g = bucket[q]
                uses[g] += 1
                if position[g] < 0:
                    position[g] = taken[s]
                    taken[s] += 1
        release(marks, bucket, bstart, cnt)
    for s in range(S):
        row0 = steps[s, ROW0]
        for g in range(row0, row0 + steps[s, N]):
            if position[g] < 0:
                position[g] = taken[s]
                taken[s] += 1


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
def _rule_term(h, i, j, ints, rows, X, xin, term):
    """Input j of rule row i, negated and weighted (``W_j.neg?(x_j)``): (array, offset, r, c)."""
    n = h[N]
    a = ints[h[B_IN] + j * n + i]
    ar, ac = rows[a, RR], rows[a, RC]
    src, so = _negated(h, X, rows[a, OFF], ar * ac, ints[h[B_SOFT] + j], xin)
    w = ints[h[B_W] + j * n + i]
    if w < 0:
        return src, so, ar, ac
    times(X, rows[w, OFF], rows[w, RR], rows[w, RC], src, so, ar, ac, term, 0)
    tr, tc = times_shape(rows[w, RR], rows[w, RC], ar, ac)
    return term, 0, tr, tc


@_njit
def _product_forward(h, i, ints, rows, X, items, xin, term, out, oo):
    """out[oo:] = the product of rule row i's items, folded left: items[t] holds the prefix up to item t."""
    k = 0
    pr, pc = 0, 0
    if h[B_OFF] >= 0:
        p = ints[h[B_OFF] + i]
        pr, pc = rows[p, RR], rows[p, RC]
        for e in range(pr * pc):
            items[0, e] = X[rows[p, OFF] + e]
        k = 1
    for j in range(h[NPOS]):
        src, so, tr, tc = _rule_term(h, i, j, ints, rows, X, xin, term)
        if k == 0:
            for e in range(tr * tc):
                items[0, e] = src[so + e]
            pr, pc = tr, tc
        else:
            times(items[k - 1], 0, pr, pc, src, so, tr, tc, items[k], 0)
            pr, pc = times_shape(pr, pc, tr, tc)
        k += 1
    for e in range(pr * pc):
        out[oo + e] = items[k - 1, e]
    return k


@_njit
def _term_backward(h, i, j, ints, rows, X, GX, gterm, xin, gxin):
    """Input j of rule row i gets the gradient ``gterm`` of its term: through the weight and the negation."""
    n = h[N]
    a = ints[h[B_IN] + j * n + i]
    ao, ar, ac = rows[a, OFF], rows[a, RR], rows[a, RC]
    soft = ints[h[B_SOFT] + j]
    src, so = _negated(h, X, ao, ar * ac, soft, xin)
    w = ints[h[B_W] + j * n + i]
    if w >= 0:
        for e in range(ar * ac):
            gxin[e] = 0.0
        times_vjp(gterm, 0, X, rows[w, OFF], rows[w, RR], rows[w, RC], src, so, ar, ac, GX, rows[w, OFF], gxin, 0)
    else:
        for e in range(ar * ac):
            gxin[e] = gterm[e]
    if rows[a, STEP] != CONSTANT:
        _input_grad(h, X, GX, ao, ar * ac, soft, xin, gxin)


@_njit
def _product_backward(h, i, ints, rows, X, GX, gz, items, gitems, xin, term, gterm, gxin):
    """The VJP of :func:`_product_forward` (prefixes in ``items``, k of them): from the last item back,
    gitems[t] is the gradient of prefix t; prefix t-1 and item t get theirs from ``times_vjp``."""
    k = h[NPOS] + (1 if h[B_OFF] >= 0 else 0)
    first = 1 if h[B_OFF] >= 0 else 0  # item t is input t - first
    size = h[HR] * h[HC]
    for e in range(size):
        gitems[k - 1, e] = gz[e]
    for t in range(k - 1, 0, -1):
        # the shape of prefix t - 1: folded again from the items' shapes
        pr, pc = _prefix_shape(h, i, ints, rows, t - 1)
        src, so, tr, tc = _rule_term(h, i, t - first, ints, rows, X, xin, term)
        for e in range(pr * pc):
            gitems[t - 1, e] = 0.0
        for e in range(tr * tc):
            gterm[e] = 0.0
        times_vjp(gitems[t], 0, items[t - 1], 0, pr, pc, src, so, tr, tc, gitems[t - 1], 0, gterm, 0)
        _term_backward(h, i, t - first, ints, rows, X, GX, gterm, xin, gxin)
    if first:
        p = ints[h[B_OFF] + i]
        for e in range(rows[p, RR] * rows[p, RC]):
            GX[rows[p, OFF] + e] += gitems[0, e]
    else:
        for e in range(_item_size(h, i, ints, rows, 0)):
            gterm[e] = gitems[0, e]
        _term_backward(h, i, 0, ints, rows, X, GX, gterm, xin, gxin)


@_njit
def _item_shape(h, i, ints, rows, t):
    """The shape of rule row i's item t (the offset first, then the weighted inputs)."""
    if h[B_OFF] >= 0:
        if t == 0:
            p = ints[h[B_OFF] + i]
            return rows[p, RR], rows[p, RC]
        t -= 1
    n = h[N]
    a = ints[h[B_IN] + t * n + i]
    w = ints[h[B_W] + t * n + i]
    if w < 0:
        return rows[a, RR], rows[a, RC]
    return times_shape(rows[w, RR], rows[w, RC], rows[a, RR], rows[a, RC])


@_njit
def _item_size(h, i, ints, rows, t):
    r, c = _item_shape(h, i, ints, rows, t)
    return r * c


@_njit
def _prefix_shape(h, i, ints, rows, t):
    """The shape of the product of rule row i's items 0..t."""
    pr, pc = _item_shape(h, i, ints, rows, 0)
    for u in range(1, t + 1):
        tr, tc = _item_shape(h, i, ints, rows, u)
        pr, pc = times_shape(pr, pc, tr, tc)
    return pr, pc


@_njit
def _rule_items(h, i, ints, rows, X, items, xin, term):
    """The items of rule row i (offset first, then each weighted, negated input), broadcast to (R, C)."""
    R, C = h[HR], h[HC]
    k = 0
    if h[B_OFF] >= 0:
        p = ints[h[B_OFF] + i]
        _load(X, rows[p, OFF], rows[p, RR], rows[p, RC], R, C, items, k)
        k += 1
    for j in range(h[NPOS]):
        src, so, tr, tc = _rule_term(h, i, j, ints, rows, X, xin, term)
        _load(src, so, tr, tc, R, C, items, k)
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
    o = out[oo:oo + size]  # (on slices an index is known not to be negative, so the loops vectorise)
    if ssize == size:
        x = src[so:so + size]
        for e in range(size):
            o[e] += x[e]
    else:
        v = src[so]
        for e in range(size):
            o[e] += v


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
def _fill(out, value):
    for e in range(len(out)):
        out[e] = value


@_njit
def _copy(src, out):
    """out[:len(src)] = src."""
    for e in range(len(src)):
        out[e] = src[e]


@_njit
def _activate_row(code, Z, X, off, size):
    """X[off:off+size] = act(Z[off:off+size]) (in place when Z is X)."""
    z, x = Z[off:off + size], X[off:off + size]
    for e in range(size):
        x[e] = activate(code, z[e])


@_njit
def _row_gradient(code, GX, Z, X, off, size, gz):
    """gz = GX * act'(z) over a row; whether any of it is not 0."""
    g, z, x = GX[off:off + size], Z[off:off + size], X[off:off + size]
    nonzero = False
    for e in range(size):
        gz[e] = g[e] * derivative(code, z[e], x[e])
        nonzero = nonzero or gz[e] != 0.0
    return nonzero


@_njit
def _pre(h, X, PRE):
    """Where a step's rows hold their pre-activation: PRE under log (its derivative needs it),
    else X itself, where the activation is then applied in place (:func:`derivative`)."""
    if h[ACT] == LOG:
        return PRE
    return X


@_njit
def _plain(h, i, ints, rows, size):
    """Whether rule row i's items are its inputs as they are: no offset, weight or input function,
    each input of the output's size or a scalar."""
    if h[B_OFF] >= 0:
        return False
    n = h[N]
    for j in range(h[NPOS]):
        a = ints[h[B_IN] + j * n + i]
        if ints[h[B_W] + j * n + i] >= 0 or ints[h[B_SOFT] + j] != 0 or not _fits(rows[a, RR], rows[a, RC], size):
            return False
    return True


@_njit
def _multiply_into(out, oo, size, X, a, rows):
    """out[oo:oo+size] *= input row a (a scalar broadcast)."""
    ao = rows[a, OFF]
    o = out[oo:oo + size]
    if rows[a, RR] * rows[a, RC] == size:
        x = X[ao:ao + size]
        for e in range(size):
            o[e] *= x[e]
    else:
        v = X[ao]
        for e in range(size):
            o[e] *= v


@_njit
def _elproduct_forward(h, i, ints, rows, X, PRE, off, size):
    """The element-wise product of a plain rule row's inputs (:func:`_plain`), folded left in input order."""
    n = h[N]
    a = ints[h[B_IN] + i]
    ao = rows[a, OFF]
    if rows[a, RR] * rows[a, RC] == size:
        _copy(X[ao:ao + size], PRE[off:off + size])
    else:
        _fill(PRE[off:off + size], X[ao])
    for j in range(1, h[NPOS]):
        _multiply_into(PRE, off, size, X, ints[h[B_IN] + j * n + i], rows)


@_njit
def _elproduct_backward(h, i, ints, rows, X, GX, gz, size, gterm):
    """Input t of a plain element-wise product gets ``gz`` times the product of the other inputs
    (summed over the elements for a scalar input); constants get nothing."""
    n = h[N]
    for t in range(h[NPOS]):
        a = ints[h[B_IN] + t * n + i]
        if rows[a, STEP] == CONSTANT:
            continue
        _copy(gz[:size], gterm)
        for j in range(h[NPOS]):
            if j != t:
                _multiply_into(gterm, 0, size, X, ints[h[B_IN] + j * n + i], rows)
        ao = rows[a, OFF]
        if rows[a, RR] * rows[a, RC] == size:
            g = GX[ao:ao + size]
            for e in range(size):
                g[e] += gterm[e]
        else:
            total = 0.0
            for e in range(size):
                total += gterm[e]
            GX[ao] += total


@_njit
def _rule_forward(h, active, ints, rows, X, PRE, items, xin, term):
    n, size, comb = h[N], h[HR] * h[HC], h[COMB]
    Z = _pre(h, X, PRE)
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        if comb == ELPRODUCT and _plain(h, i, ints, rows, size):
            _elproduct_forward(h, i, ints, rows, X, Z, off, size)
        elif _additive(comb) and _rule_fits(h, i, ints, rows):
            _fill(Z[off:off + size], 0.0)
            k = 0
            if h[B_OFF] >= 0:
                p = ints[h[B_OFF] + i]
                _add_into(Z, off, size, X, rows[p, OFF], rows[p, RR] * rows[p, RC])
                k += 1
            for j in range(h[NPOS]):
                a = ints[h[B_IN] + j * n + i]
                ar, ac = rows[a, RR], rows[a, RC]
                src, so = _negated(h, X, rows[a, OFF], ar * ac, ints[h[B_SOFT] + j], xin)
                w = ints[h[B_W] + j * n + i]
                if w >= 0:
                    times(X, rows[w, OFF], rows[w, RR], rows[w, RC], src, so, ar, ac, term, 0)
                    tr, tc = times_shape(rows[w, RR], rows[w, RC], ar, ac)
                    _add_into(Z, off, size, term, 0, tr * tc)
                else:
                    _add_into(Z, off, size, src, so, ar * ac)
                k += 1
            if comb == AVG:
                z = Z[off:off + size]
                for e in range(size):
                    z[e] /= k
        elif comb == PRODUCT:
            _product_forward(h, i, ints, rows, X, items, xin, term, Z, off)
        else:
            k = _rule_items(h, i, ints, rows, X, items, xin, term)
            _combine(comb, items, k, size, Z, off)
        _activate_row(h[ACT], Z, X, off, size)


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
    Z = _pre(h, X, PRE)
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        nonzero = False
        nonzero = _row_gradient(h[ACT], GX, Z, X, off, size, gz)
        if not nonzero or h[COMB] == ONE or h[COMB] == COUNT:
            continue
        if h[COMB] == ELPRODUCT and _plain(h, i, ints, rows, size):
            _elproduct_backward(h, i, ints, rows, X, GX, gz, size, gterm)
            continue
        if _additive(h[COMB]) and _rule_fits(h, i, ints, rows):
            _rule_backward_additive(h, i, ints, rows, X, GX, gz, gterm, xin, gxin)
            continue
        if h[COMB] == PRODUCT:
            _product_forward(h, i, ints, rows, X, items, xin, term, gterm, 0)
            _product_backward(h, i, ints, rows, X, GX, gz, items, gitems, xin, term, gterm, gxin)
            continue
        k = _rule_items(h, i, ints, rows, X, items, xin, term)
        if h[COMB] == MAX or h[COMB] == MIN:  # z again: they route by it
            _combine(h[COMB], items, k, size, term, 0)
        _item_grads(h[COMB], items, k, size, term, 0, gz, gitems)
        t = 0
        if h[B_OFF] >= 0:
            p = ints[h[B_OFF] + i]
            _store_grad(gitems, 0, R, C, GX, rows[p, OFF], rows[p, RR], rows[p, RC])
            t = 1
        for j in range(h[NPOS]):
            tr, tc = _item_shape(h, i, ints, rows, t)
            for e in range(tr * tc):
                gterm[e] = 0.0
            _store_grad(gitems, t, R, C, gterm, 0, tr, tc)
            _term_backward(h, i, j, ints, rows, X, GX, gterm, xin, gxin)
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
    o = out[oo:oo + size]
    _fill(o, 0.0)
    for k in range(lo, hi):
        m = ints[k]
        _add_into(out, oo, size, X, rows[m, OFF], rows[m, RR] * rows[m, RC])
    if h[COMB] == AVG:
        for e in range(size):
            o[e] /= hi - lo


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
        g = GX[rows[m, OFF]:rows[m, OFF] + msize]
        for e in range(msize):
            g[e] += gterm[e]


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
def _aggregation_row_forward(h, g, ints, rows, X, items, reduced):
    """Aggregation row g, one row at a time: y = W_head . agg(members)."""
    i = g - h[ROW0]
    off = rows[g, OFF]
    mr, mc = _reduced(h, i, ints, rows, X, items, reduced)
    if h[B_HEAD] >= 0:
        w = ints[h[B_HEAD] + i]
        times(X, rows[w, OFF], rows[w, RR], rows[w, RC], reduced, 0, mr, mc, X, off)
    else:
        _copy(reduced[:mr * mc], X[off:off + mr * mc])


@_njit
def _aggregation_row_backward(h, g, ints, rows, X, GX, items, gitems, reduced, gz):
    """The VJP of :func:`_aggregation_row_forward` for row g."""
    comb = h[COMB]
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
        _fill(gz[:size], 0.0)
        times_vjp(GX, off, X, rows[w, OFF], rows[w, RR], rows[w, RC], reduced, 0, mr, mc,
                  GX, rows[w, OFF], gz, 0)
    else:
        _copy(GX[off:off + size], gz)
    if comb == ONE or comb == COUNT:
        return
    if _additive(comb):
        _spread_members(h, i, ints, rows, GX, gz, size, reduced)
        return
    _members_backward(h, i, ints, rows, GX, items, k, mr, mc, reduced, 0, gz, gitems)


@_njit
def _head_matrix(h, i, ints, rows):
    """The head weight of aggregation row i when its rows can be batched into one matrix product:
    a sum or mean of members (column vectors of the weight's width) times an (r, c) weight, c > 1;
    else -1."""
    if h[B_HEAD] < 0 or not _additive(h[COMB]):
        return -1
    w = ints[h[B_HEAD] + i]
    m = ints[ints[h[B_PTR] + i]]
    if rows[m, RC] != 1 or rows[m, RR] != rows[w, RC] or rows[w, RC] == 1:
        return -1
    return w


@_njit
def _aggregation_pass(backward, h, active, ints, rows, X, GX, items, gitems, reduced, gz, blas, tiles, tiled):
    """An aggregation step forward (or, with ``backward``, its VJP). Rows whose head weight is a
    matrix (:func:`_head_matrix`) go in tiles of rows sharing the weight: their sums fill the rows of
    a tile A (recomputed backward, where their output gradients are gathered into G too), then
    BLAS products do the tile (:func:`_tile_forward`, :func:`_tile_backward`); other rows go one at
    a time."""
    if backward and (h[COMB] == ONE or h[COMB] == COUNT) and h[B_HEAD] < 0:
        return
    A, G = tiles[0], tiles[1]
    n, w_tile = 0, -1
    for g in active:
        w = _head_matrix(h, g - h[ROW0], ints, rows)
        if w < 0:
            if backward:
                _aggregation_row_backward(h, g, ints, rows, X, GX, items, gitems, reduced, gz)
            else:
                _aggregation_row_forward(h, g, ints, rows, X, items, reduced)
            continue
        wr, wc = rows[w, RR], rows[w, RC]
        if w != w_tile or n == _tile_capacity(tiles, tiled, wr, wc):
            _tile(backward, h, ints, rows, X, GX, blas, tiles, tiled, n, w_tile, gz, reduced)
            n, w_tile = 0, w
        _sum_members(h, g - h[ROW0], ints, rows, X, A, n * wc, wc)
        if backward:
            off = rows[g, OFF]
            _copy(GX[off:off + wr], G[n * wr:(n + 1) * wr])
        tiled[n] = g
        n += 1
    _tile(backward, h, ints, rows, X, GX, blas, tiles, tiled, n, w_tile, gz, reduced)


@_njit
def _tile(backward, h, ints, rows, X, GX, blas, tiles, tiled, n, w, gz, gterm):
    if backward:
        _tile_backward(h, ints, rows, X, GX, blas, tiles[0], tiles[1], tiles[2], tiled, n, w, gz, gterm)
    else:
        _tile_forward(rows, X, blas, tiles[0], tiles[1], tiled, n, w)


@_njit
def _tile_capacity(tiles, tiled, wr, wc):
    """How many rows a tile holds for an (wr, wc) weight."""
    return min(len(tiled), tiles.shape[1] // max(wr, wc))


@_njit
def _tile_forward(rows, X, blas, A, Y, tiled, n, w):
    """Y = A . W^T for the n rows of the tile, then each row's value into X."""
    if n == 0:
        return
    wr, wc = rows[w, RR], rows[w, RC]
    # column-major, as BLAS sees row-major buffers: Y^T (wr x n) = W^T^T (wr x wc) . A^T (wc x n)
    gemm(blas, True, False, wr, n, wc, X, rows[w, OFF], wc, A, 0, wc, 0.0, Y, 0, wr)
    for t in range(n):
        off = rows[tiled[t], OFF]
        _copy(Y[t * wr:(t + 1) * wr], X[off:off + wr])


@_njit
def _tile_backward(h, ints, rows, X, GX, blas, A, G, GA, tiled, n, w, gz, gterm):
    if n == 0:
        return
    wr, wc = rows[w, RR], rows[w, RC]
    # GW (wr x wc, row-major) += G^T . A: column-major GW^T (wc x wr) += A^T (wc x n) . G (n x wr)
    gemm(blas, False, True, wc, wr, n, A, 0, wc, G, 0, wr, 1.0, GX, rows[w, OFF], wc)
    # GA (n x wc) = G . W: column-major GA^T (wc x n) = W^T (wc x wr) . G^T (wr x n)
    gemm(blas, False, False, wc, n, wr, X, rows[w, OFF], wc, G, 0, wr, 0.0, GA, 0, wc)
    for t in range(n):
        _copy(GA[t * wc:(t + 1) * wc], gz)
        _spread_members(h, tiled[t] - h[ROW0], ints, rows, GX, gz, wc, gterm)


@_njit
def _atom_forward(h, active, ints, rows, X, PRE, items):
    R, C = h[HR], h[HC]
    size = R * C
    Z = _pre(h, X, PRE)
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        if h[KIND] == ATOM_ONE:
            Z[off] = 1.0
        elif h[KIND] == ATOM_FIRST:
            a = ints[h[B_IN] + i]
            if h[B_HEAD] >= 0:
                w = ints[h[B_HEAD] + i]
                times(X, rows[w, OFF], rows[w, RR], rows[w, RC], X, rows[a, OFF], rows[a, RR], rows[a, RC],
                      Z, off)
            else:
                _copy(X[rows[a, OFF]:rows[a, OFF] + size], Z[off:off + size])
        elif _additive(h[COMB]) and _members_fit(h, i, ints, rows, size):
            _sum_members(h, i, ints, rows, X, Z, off, size)
        else:
            k = _members(h, i, ints, rows, X, items, R, C)
            _combine(h[COMB], items, k, size, Z, off)
        _activate_row(h[ACT], Z, X, off, size)


@_njit
def _atom_backward(h, active, ints, rows, X, PRE, GX, items, gitems, gz, z):
    if h[KIND] == ATOM_ONE:
        return
    R, C = h[HR], h[HC]
    size = R * C
    Z = _pre(h, X, PRE)
    for g in active:
        i = g - h[ROW0]
        off = rows[g, OFF]
        _row_gradient(h[ACT], GX, Z, X, off, size, gz)
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
            if h[COMB] == MAX or h[COMB] == MIN:  # z again: they route by it
                _combine(h[COMB], items, k, size, z, 0)
            _members_backward(h, i, ints, rows, GX, items, k, R, C, z, 0, gz, gitems)


# -- the passes ------------------------------------------------------------------------------------

@_njit
def zero_gradients(rows, GX, ids):
    """GX = 0 on the rows ``ids``."""
    for g in ids:
        off = rows[g, OFF]
        _fill(GX[off:off + rows[g, RR] * rows[g, RC]], 0.0)


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
def run(mode, steps, ints, rows, X, PRE, GX, M, V, marks, bucket, bstart, cnt, items, gitems, scratch,
        blas, tiles, tiled, outputs, targets, weights, loss_code, learnable, opt_kind, hyper, t):
    """The one entry point (one compilation): ``FORWARD`` computes the rows ``outputs`` need;
    ``GRADIENTS`` also the batch error and GX; ``TRAIN`` also the update (module docstring).

    Returns (error, whether it and the gradients are finite, how many parameters the batch
    touched: their ids stay at the start of the parameter bucket until the next call).
    ``items``, ``gitems`` (max items per row x widest value) and ``scratch`` (6 x widest value)
    are work space, allocated once by the caller, so no kernel allocates or counts references;
    so are ``tiles`` (3 x TILE x the largest weight dimension) and ``tiled`` (row ids, TILE),
    where :func:`_aggregation_pass` batches matrix products for ``blas`` (:func:`blas`).
    """
    xin, term, reduced, gz, gterm, gxin = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5]
    reach(steps, ints, marks, outputs, bucket, bstart, cnt)
    S = len(steps)
    for s in range(S):  # forward, in step order
        if cnt[s] == 0:
            continue
        h = steps[s]
        active = bucket[bstart[s]:bstart[s] + cnt[s]]
        if h[KIND] == RULE:
            _rule_forward(h, active, ints, rows, X, PRE, items, xin, term)
        elif h[KIND] == AGGREGATION:
            _aggregation_pass(False, h, active, ints, rows, X, GX, items, gitems, reduced, gz, blas, tiles, tiled)
        else:
            _atom_forward(h, active, ints, rows, X, PRE, items)
    error, ok = 0.0, True
    if mode != FORWARD:
        # GX is 0 on every neuron row between calls (a row's is cleared once its step's backward has read
        # it, while it is in the cache, and no later step writes it); the parameters' gradients stay for
        # the caller until the next call
        P = bstart[S + 1] - bstart[S]  # the parameters are the rows 0..P-1, first in the buffer
        _fill(GX[:rows[P - 1, OFF] + rows[P - 1, RR] * rows[P - 1, RC] if P else 0], 0.0)
        error = loss(loss_code, rows, X, GX, outputs, targets, weights, True)
        ok = math.isfinite(error)
        if not ok:
            for s in range(S):
                zero_gradients(rows, GX, bucket[bstart[s]:bstart[s] + cnt[s]])
    if mode != FORWARD and ok:
        for s in range(S - 1, -1, -1):  # backward, in reverse step order
            if cnt[s] == 0:
                continue
            h = steps[s]
            active = bucket[bstart[s]:bstart[s] + cnt[s]]
            if h[KIND] == RULE:
                _rule_backward(h, active, ints, rows, X, PRE, GX, items, gitems, xin, term, gz, gterm, gxin)
            elif h[KIND] == AGGREGATION:
                _aggregation_pass(True, h, active, ints, rows, X, GX, items, gitems, xin, gz, blas, tiles, tiled)
            else:
                _atom_backward(h, active, ints, rows, X, PRE, GX, items, gitems, gz, term)
            zero_gradients(rows, GX, active)
        if mode == TRAIN:
            ok = update(rows, X, GX, M, V, bucket[bstart[S]:bstart[S] + cnt[S]], learnable, opt_kind, hyper, t)
    touched = cnt[S]
    release(marks, bucket, bstart, cnt)
    return error, ok, touched
