# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled monthly step of the professionals: the exact twin of ``rules.professionals_step``.

Same inputs, same uniforms (``draws``: SplitMix64 of (month key, counter), evaluated here only
where a draw is needed), same floating-point operations in the same order, so every state
array is bit-identical to the reference. ``setup.py`` compiles with ``-ffp-contract=off`` so
that no fused multiply-add changes a rounding.

Signatures follow scikit-learn's style: read-only inputs are ``const`` memoryviews, arguments
are marked IN / OUT / INOUT, the network is CSR (``indptr``, ``indices``).
"""

from libc.math cimport floor, frexp, ldexp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

cdef uint64_t GAMMA = 0x9E3779B97F4A7C15ULL
cdef uint64_t MIX1 = 0xBF58476D1CE4E5B9ULL
cdef uint64_t MIX2 = 0x94D049BB133111EBULL
cdef double TO_UNIT = 1.0 / 9007199254740992.0
cdef double MAX_HAZARD = 700.0
cdef enum:
    NF = 3  # technology families
    SLOTS = 4  # uniforms per professional and month (draws.SLOTS)
    TRAINING_SLOT = 3


cdef inline double uniform(uint64_t key, uint64_t counter) noexcept nogil:
    """SplitMix64 output number ``counter`` of the stream starting at ``key``, in [0, 1)."""
    cdef uint64_t z = key + counter * GAMMA
    z = (z ^ (z >> 30)) * MIX1
    z = (z ^ (z >> 27)) * MIX2
    z = z ^ (z >> 31)
    return <double>(z >> 11) * TO_UNIT


cdef inline double one_minus_exp_neg(double x) noexcept nogil:
    """1 - exp(-x) exactly as ``draws.one_minus_exp_neg`` computes it."""
    cdef int e = 0
    cdef int k, j
    cdef double y, q
    if x > MAX_HAZARD:
        x = MAX_HAZARD
    frexp(x * 8.0, &e)
    k = e if e > 0 else 0
    y = ldexp(x, -k)
    q = 1.0 - y / 9.0
    q = 1.0 - (y / 8.0) * q
    q = 1.0 - (y / 7.0) * q
    q = 1.0 - (y / 6.0) * q
    q = 1.0 - (y / 5.0) * q
    q = 1.0 - (y / 4.0) * q
    q = 1.0 - (y / 3.0) * q
    q = 1.0 - (y / 2.0) * q
    q = y * q
    for j in range(k):
        q = q * (2.0 - q)
    return q


cdef inline bint happens(double u, double x) noexcept nogil:
    """u < 1 - exp(-x). The computed 1 - exp(-x) never exceeds x, so u >= x decides 'no' at
    once; the series is evaluated only when u < x (rarely, hazards are small)."""
    if u >= x:
        return False
    return u < one_minus_exp_neg(x)


def professionals_step(
    # network (IN)
    const int32_t[::1] indptr,
    const int32_t[::1] indices,
    bint complete,
    # professionals (IN)
    const uint8_t[::1] profession,
    const int32_t[::1] establishment,
    const float[::1] birth,
    const float[::1] propensity,
    const float[::1] train_prob,
    const float[::1] skill0,
    const uint8_t[:, ::1] state,
    # professionals (INOUT): own row only
    float[::1] skill,
    uint8_t[:, ::1] trained,
    # professionals (OUT)
    uint8_t[:, ::1] new_state,
    # establishments (IN)
    const uint8_t[:, ::1] deployed,
    const uint8_t[::1] est_type,
    # month parameters (IN)
    const double[::1] p,
    const double[::1] q,
    const double[:, ::1] adopt_mult,
    const double[:, ::1] master_mult,
    double skill_effect,
    double skill_mastery_effect,
    double train_adopt_boost,
    double train_master_boost,
    double train_skill_gain,
    bint mentoring,
    double mentoring_adoption,
    double mentoring_learning,
    double mentoring_gap,
    double risk_gain,
    double t_end,
    const double[::1] age_edges,
    uint64_t key,
    # tallies (OUT, zeroed by the caller)
    int64_t[:, :, :, :, ::1] cube,
    int64_t[:, ::1] risk,
):
    """One month for every professional; see ``rules.professionals_step`` for the rules."""
    cdef Py_ssize_t n = profession.shape[0]
    cdef Py_ssize_t n_edges = age_edges.shape[0]
    cdef Py_ssize_t i, t, j, b
    cdef int f, s, ns, pr, e, band, n_elig, pick, chosen
    cdef int64_t deg
    cdef int64_t tot[NF]
    cdef int64_t n_use[NF]
    cdef int64_t n_young[NF]
    cdef bint need[NF]
    cdef bint any_need, grew, elig[NF]
    cdef double sk, base, share, ment, a, x, m, u, v, tp, age
    cdef uint64_t ctr

    with nogil:
        if complete:
            for f in range(NF):
                tot[f] = 0
            for i in range(n):
                for f in range(NF):
                    tot[f] += state[i, f] >= 1

        for i in range(n):
            e = establishment[i]
            pr = profession[i]
            any_need = False
            for f in range(NF):
                s = state[i, f]
                need[f] = (s == 0 and deployed[e, f] != 0) or (s == 1 and mentoring)
                any_need = any_need or need[f]
                n_use[f] = 0
                n_young[f] = 0

            # peer counts over the ties (only if some decision reads them)
            if complete:
                deg = n - 1
                if any_need:
                    for f in range(NF):
                        n_use[f] = tot[f] - (state[i, f] >= 1)
            else:
                deg = indptr[i + 1] - indptr[i]
                if any_need:
                    if mentoring:
                        for t in range(indptr[i], indptr[i + 1]):
                            j = indices[t]
                            for f in range(NF):
                                n_use[f] += state[j, f] >= 1
                            if (<double>birth[j] - <double>birth[i]) >= mentoring_gap:
                                for f in range(NF):
                                    n_young[f] += state[j, f] == 2
                    else:
                        for t in range(indptr[i], indptr[i + 1]):
                            j = indices[t]
                            n_use[0] += state[j, 0] >= 1
                            n_use[1] += state[j, 1] >= 1
                            n_use[2] += state[j, 2] >= 1

            sk = <double>skill[i]
            base = <double>propensity[i] * (1.0 + skill_effect * (sk - 0.5))
            ctr = <uint64_t>i * SLOTS + 1
            for f in range(NF):
                s = state[i, f]
                ns = s
                if deg > 0:
                    share = <double>n_use[f] / <double>deg
                    ment = <double>n_young[f] / <double>deg
                else:
                    share = 0.0
                    ment = 0.0
                if s == 0:
                    if deployed[e, f] != 0:
                        a = p[f] + q[f] * share + mentoring_adoption * ment
                        x = a * base * adopt_mult[pr, f]
                        if trained[i, f] == 1:
                            x = x * (1.0 + train_adopt_boost)
                        u = uniform(key, ctr + f)
                        if happens(u, x):
                            ns = 1
                elif s == 1:
                    m = master_mult[pr, f] * (1.0 + skill_mastery_effect * (sk - 0.5))
                    if trained[i, f] == 1:
                        m = m * (1.0 + train_master_boost)
                    m = m * (1.0 + mentoring_learning * ment)
                    u = uniform(key, ctr + f)
                    if happens(u, m):
                        ns = 2
                new_state[i, f] = ns

            # training: one course on an eligible family
            tp = <double>train_prob[i]
            n_elig = 0
            for f in range(NF):
                elig[f] = deployed[e, f] != 0 and state[i, f] < 2 and trained[i, f] == 0
                n_elig += elig[f]
            if n_elig > 0 and tp > 0.0:
                v = uniform(key, ctr + TRAINING_SLOT)
                if v < tp:
                    pick = <int>floor((v / tp) * n_elig)
                    if pick > n_elig - 1:
                        pick = n_elig - 1
                    chosen = -1
                    for f in range(NF):
                        if elig[f]:
                            if pick == 0:
                                chosen = f
                                break
                            pick -= 1
                    trained[i, chosen] = 1
                    skill[i] = <float>(sk + train_skill_gain * (1.0 - sk))

            # tallies
            age = t_end - <double>birth[i]
            band = 0
            for b in range(n_edges):
                if age >= age_edges[b]:
                    band += 1
            grew = (<double>skill[i] - <double>skill0[i]) < risk_gain
            for f in range(NF):
                ns = new_state[i, f]
                cube[pr, band, est_type[e], f, ns] += 1
                if ns == 2 and grew:
                    risk[pr, f] += 1


def uniforms(uint64_t key, Py_ssize_t n, double[:, ::1] out):
    """The month's uniforms as the kernel sees them (for tests against ``draws.uniforms``)."""
    cdef Py_ssize_t i
    cdef int s
    with nogil:
        for i in range(n):
            for s in range(SLOTS):
                out[i, s] = uniform(key, <uint64_t>i * SLOTS + s + 1)


def hazard_probability(const double[::1] x, double[::1] out):
    """``one_minus_exp_neg`` as the kernel computes it (for tests against ``draws``)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            out[i] = one_minus_exp_neg(x[i])
