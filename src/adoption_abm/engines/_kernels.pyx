# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled monthly step of the professionals: the exact twin of ``rules.professionals_step``.

Same inputs, same uniforms (``draws``: SplitMix64 of (month key, counter), evaluated here only
where a draw is needed), same floating-point operations in the same order, so every state
array is bit-identical to the reference. ``setup.py`` compiles with ``-ffp-contract=off`` so
that no fused multiply-add changes a rounding.

How it is fast (docs/PERFORMANCE.md has the measurements; most of the time goes into reading
the ties' states):

* one pre-pass packs each professional's three states into one byte (bit ``f``: uses or
  masters family ``f``; bit ``3 + f``: masters it), so the tie loop reads one byte per tie
  from an array of N bytes that stays in cache, instead of three bytes from the state matrix;
* the tie loop adds one table entry per tie: ``USE_LANES[mask]`` spreads the three bits into
  three 21-bit counters of one 64-bit word, so the three families are counted by one addition
  (exact integers; a degree of 2**21 or more takes the plain three-counter loop instead);
* ties are read only for professionals with a decision that needs them (a deployed family not
  yet used, or reverse mentoring), and in ``lazy`` mode (the default) only if the month's
  uniform of one of those decisions is below its hazard at peer shares of 1, an upper bound of
  the true hazard (see ``professionals_step``): most months, most professionals decide without
  reading their ties, with the same result;
* the CSR rows about to be read are prefetched (rows are skipped at random, so the hardware
  prefetcher loses the stream), shares ``k / d`` of small degrees come from a table of the
  same IEEE divisions, and a uniform is drawn only where a transition can happen;
* no Python object, no memoryview slicing, no exception check inside the ``nogil`` loop.

Randomness is counter-based (:mod:`adoption_abm.draws`): the uniform of professional ``i``,
slot ``s`` is a pure function of the month's key and ``(i, s)``, so results do not depend on
the order professionals are visited in, nor on which of them are skipped.

Signatures follow scikit-learn's style: read-only inputs are ``const`` memoryviews, arguments
are marked IN / OUT / INOUT, the network is CSR (``indptr``, ``indices``).
"""

import numpy as np

from libc.math cimport floor, frexp, ldexp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

ABI = 2
"""Bumped whenever ``professionals_step``'s signature changes; ``engines`` checks it, so a stale
compiled file is reported as such instead of failing with an obscure TypeError."""

cdef extern from *:
    """
    /* compile-time constants (module-level cdef variables would be loaded from memory) */
    #define ABM_GAMMA 0x9E3779B97F4A7C15ULL
    #define ABM_MIX1 0xBF58476D1CE4E5B9ULL
    #define ABM_MIX2 0x94D049BB133111EBULL
    #define ABM_TO_UNIT (1.0 / 9007199254740992.0)
    #define ABM_MAX_HAZARD 700.0
    #define ABM_LANE_MASK ((1ULL << 21) - 1)
    #if defined(__GNUC__) || defined(__clang__)
    #define ABM_PREFETCH(p) __builtin_prefetch((p), 0, 3)
    #else
    #define ABM_PREFETCH(p) ((void)(p))
    #endif
    """
    void prefetch "ABM_PREFETCH"(const void* p) noexcept nogil
    const uint64_t GAMMA "ABM_GAMMA"
    const uint64_t MIX1 "ABM_MIX1"
    const uint64_t MIX2 "ABM_MIX2"
    const double TO_UNIT "ABM_TO_UNIT"
    const double MAX_HAZARD "ABM_MAX_HAZARD"
    const uint64_t LANE_MASK "ABM_LANE_MASK"

cdef enum:
    NF = 3  # technology families
    SLOTS = 4  # uniforms per professional and month (draws.SLOTS)
    TRAINING_SLOT = 3
    LANE_BITS = 21  # width of one family's counter in a packed 64-bit word
    LANE_LIMIT = 1 << LANE_BITS  # degrees below this are counted with packed words
    SHARE_DEG = 40  # shares k / d for degrees d below this come from a table
    AHEAD = 16  # lazy mode: prefetch the ties of the professional this many rows ahead

# USE_LANES[m]: the "uses or masters" bits (0-2) of mask byte m spread into three lanes;
# MASTER_LANES[m]: the "masters" bits (3-5). 64 words each, 512 bytes: they stay in L1.
cdef uint64_t USE_LANES[64]
cdef uint64_t MASTER_LANES[64]


cdef inline uint64_t spread3(int bits) noexcept nogil:
    return ((bits & 1) | (<uint64_t>((bits >> 1) & 1) << LANE_BITS)
            | (<uint64_t>((bits >> 2) & 1) << (2 * LANE_BITS)))


# SHARES[d * SHARE_DEG + k] = k / d for 0 < d < SHARE_DEG, 0 <= k <= d: the same IEEE division
# done once, so that a share costs a load instead of a division on the hazard's critical path.
cdef double SHARES[SHARE_DEG * SHARE_DEG]


cdef void _init_tables() noexcept nogil:
    cdef int m, d, k
    for m in range(64):
        USE_LANES[m] = spread3(m & 7)
        MASTER_LANES[m] = spread3(m >> 3)
    for d in range(SHARE_DEG):
        for k in range(SHARE_DEG):
            SHARES[d * SHARE_DEG + k] = (<double>k / <double>d) if 0 < d and k <= d else 0.0


cdef inline double ratio(int k, int64_t d) noexcept nogil:
    """k / d in double (d > 0, 0 <= k <= d), from the table when d is small."""
    if d < SHARE_DEG:
        return SHARES[d * SHARE_DEG + k]
    return <double>k / <double>d


_init_tables()


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


cdef inline int lane(uint64_t word, int f) noexcept nogil:
    return <int>((word >> (LANE_BITS * f)) & LANE_MASK)


cdef void pack_states(const uint8_t[:, ::1] state, uint8_t* mask) noexcept nogil:
    """mask[i]: bit f if professional i uses or masters family f, bit 3 + f if it masters it."""
    cdef Py_ssize_t i
    cdef unsigned int mi
    cdef int f, s
    for i in range(state.shape[0]):
        mi = 0
        for f in range(NF):
            s = state[i, f]
            mi = mi | ((s >= 1) << f) | ((s == 2) << (3 + f))
        mask[i] = <uint8_t>mi


cdef inline void count_ties(
    const int32_t* indices, Py_ssize_t lo, Py_ssize_t hi, const uint8_t* mask,
    const float* birth, double own_birth, bint mentoring, double gap, int* use, int* young,
) noexcept nogil:
    """Over ties ``indices[lo:hi]``: how many use or master each family (``use``) and, with
    mentoring, how many at least ``gap`` years younger master it (``young``)."""
    cdef Py_ssize_t t, j
    cdef unsigned int mj
    cdef int f
    cdef uint64_t acc = 0
    cdef uint64_t acc_young = 0
    if hi - lo < LANE_LIMIT:  # one addition per tie counts the three families
        if mentoring:
            for t in range(lo, hi):
                j = indices[t]
                mj = mask[j]
                acc += USE_LANES[mj]
                if (<double>birth[j] - own_birth) >= gap:
                    acc_young += MASTER_LANES[mj]
        else:
            for t in range(lo, hi):
                acc += USE_LANES[mask[indices[t]]]
        for f in range(NF):
            use[f] = lane(acc, f)
            young[f] = lane(acc_young, f)
    else:  # a degree past the 21-bit counters: plain counters
        for f in range(NF):
            use[f] = 0
            young[f] = 0
        for t in range(lo, hi):
            j = indices[t]
            mj = mask[j]
            for f in range(NF):
                use[f] += (mj >> f) & 1
                if mentoring and (<double>birth[j] - own_birth) >= gap:
                    young[f] += (mj >> (3 + f)) & 1


cdef inline int decide(
    int f, unsigned int mi, unsigned int dm, unsigned int ruled_out, int n_use, int n_young,
    int64_t deg, double base, double sm, bint trained, double p, double q, double adopt_mult,
    double master_mult, double mentoring_adoption, double mentoring_learning,
    double adopt_boost, double master_boost, uint64_t key, uint64_t ctr,
) noexcept nogil:
    """Family ``f``'s new state (see ``rules.professionals_step``); inlined with ``f`` constant."""
    cdef int s = ((mi >> f) & 1) + ((mi >> (3 + f)) & 1)
    cdef double ment = 0.0
    cdef double share = 0.0
    cdef double x
    if (ruled_out >> f) & 1:  # its uniform is above its largest possible hazard
        return s
    if n_young != 0:  # ment = n_young / deg (0 / deg is exactly 0.0)
        ment = ratio(n_young, deg)
    if s == 0:
        if (dm >> f) & 1:
            if deg > 0:
                share = ratio(n_use, deg)
            x = (p + q * share + mentoring_adoption * ment) * base * adopt_mult
            if trained:
                x = x * adopt_boost
            if happens(uniform(key, ctr + f), x):
                return 1
    elif s == 1:
        x = master_mult * sm
        if trained:
            x = x * master_boost
        x = x * (1.0 + mentoring_learning * ment)
        if happens(uniform(key, ctr + f), x):
            return 2
    return s


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
    # skip the ties when the month's uniforms rule out every transition that reads them (IN)
    bint lazy=True,
):
    """One month for every professional; see ``rules.professionals_step`` for the rules.

    ``lazy=False`` reads the ties of every professional with a decision that depends on them;
    ``lazy=True`` (the default) first compares each such decision's uniform with its hazard at
    the largest possible peer shares (1), and reads the ties only if one of them could happen.
    Hazards are sums and products of non-negative terms, and rounded IEEE operations are
    monotone, so the computed hazard never exceeds that bound: both modes give the same
    results, bit for bit. The bound is used only when every factor is non-negative (checked
    each month and for each professional); otherwise the ties are read.
    """
    cdef Py_ssize_t n = profession.shape[0]
    cdef Py_ssize_t n_est = deployed.shape[0]
    cdef Py_ssize_t n_prof = adopt_mult.shape[0]
    cdef Py_ssize_t n_edges = age_edges.shape[0]
    cdef Py_ssize_t i, t, b, lo, hi
    cdef int f, pr, e, et, band, n_elig, pick, chosen
    cdef unsigned int mi, dm, need, ruled_out
    cdef int64_t deg
    cdef int64_t tot[NF]
    cdef int n_use[NF]
    cdef int n_young[NF]
    cdef int ns0, ns1, ns2
    cdef double p0 = p[0], p1 = p[1], p2 = p[2], q0 = q[0], q1 = q[1], q2 = q[2]
    cdef double a_bound[NF]
    cdef bint bounded
    cdef bint elig[NF]
    cdef double sk, base, sm, x, v, tp, age
    cdef double adopt_boost = 1.0 + train_adopt_boost
    cdef double master_boost = 1.0 + train_master_boost
    cdef double learn_bound = 1.0 + mentoring_learning * (1.0 if mentoring else 0.0)
    cdef uint64_t ctr
    cdef uint8_t[::1] mask = np.empty(n + 1, dtype=np.uint8)  # packed states (see module doc)
    cdef uint8_t[::1] dep = np.empty(n_est, dtype=np.uint8)  # packed deployed families
    cdef int64_t* cell
    cdef uint8_t* mask_p = &mask[0]
    cdef const int32_t* indices_p = &indices[0] if indices.shape[0] > 0 else NULL
    cdef const float* birth_p = &birth[0] if n > 0 else NULL

    with nogil:
        # pre-pass: pack states and deployments into one byte each
        pack_states(state, mask_p)
        for e in range(n_est):
            dep[e] = <uint8_t>((deployed[e, 0] != 0) | ((deployed[e, 1] != 0) << 1)
                               | ((deployed[e, 2] != 0) << 2))
        for f in range(NF):
            tot[f] = 0
        if complete:
            for i in range(n):
                for f in range(NF):
                    tot[f] += (mask[i] >> f) & 1

        # the bound: hazards at peer shares 1, valid if every factor is non-negative
        bounded = (lazy and mentoring_adoption >= 0.0 and mentoring_learning >= 0.0
                   and adopt_boost >= 0.0 and master_boost >= 0.0)
        for f in range(NF):
            bounded = bounded and q[f] >= 0.0
            a_bound[f] = p[f] + q[f] * 1.0 + mentoring_adoption * (1.0 if mentoring else 0.0)
            for pr in range(n_prof):
                bounded = bounded and adopt_mult[pr, f] >= 0.0 and master_mult[pr, f] >= 0.0

        for i in range(n):
            if not complete and i + AHEAD < n:
                # rows are skipped at random, so the hardware prefetcher loses the stream
                t = indptr[i + AHEAD]
                prefetch(&indices[t])
                prefetch(&indices[t] + 16)
            e = establishment[i]
            pr = profession[i]
            mi = mask[i]
            dm = dep[e]
            sk = <double>skill[i]
            base = <double>propensity[i] * (1.0 + skill_effect * (sk - 0.5))
            sm = 1.0 + skill_mastery_effect * (sk - 0.5)
            ctr = <uint64_t>i * SLOTS + 1
            # families whose decision reads the ties: deployed and not used; used and not
            # mastered when reverse mentoring is on
            need = (~mi) & dm & 7
            if mentoring:
                need = need | (mi & ~(mi >> 3) & 7)
            ruled_out = 0
            if need and bounded and base >= 0.0 and sm >= 0.0:
                for f in range(NF):
                    if (need >> f) & 1:
                        if (mi >> f) & 1:  # using, learning with mentors' help
                            x = master_mult[pr, f] * sm
                            if trained[i, f] == 1:
                                x = x * master_boost
                            x = x * learn_bound
                        else:  # not using: adoption
                            x = a_bound[f] * base * adopt_mult[pr, f]
                            if trained[i, f] == 1:
                                x = x * adopt_boost
                        if uniform(key, ctr + f) >= x:
                            ruled_out = ruled_out | (<unsigned int>1 << f)
                need = need & ~ruled_out
            n_use[0] = n_use[1] = n_use[2] = 0
            n_young[0] = n_young[1] = n_young[2] = 0

            # peer counts over the ties (only if some decision reads them)
            if complete:
                deg = n - 1
                if need:
                    for f in range(NF):
                        n_use[f] = <int>(tot[f] - ((mi >> f) & 1))
            else:
                lo = indptr[i]
                hi = indptr[i + 1]
                deg = hi - lo
                if need:
                    count_ties(indices_p, lo, hi, mask_p, birth_p, <double>birth[i], mentoring,
                               mentoring_gap, n_use, n_young)

            ns0 = decide(0, mi, dm, ruled_out, n_use[0], n_young[0], deg, base, sm,
                         trained[i, 0] == 1, p0, q0, adopt_mult[pr, 0], master_mult[pr, 0],
                         mentoring_adoption, mentoring_learning, adopt_boost, master_boost, key,
                         ctr)
            ns1 = decide(1, mi, dm, ruled_out, n_use[1], n_young[1], deg, base, sm,
                         trained[i, 1] == 1, p1, q1, adopt_mult[pr, 1], master_mult[pr, 1],
                         mentoring_adoption, mentoring_learning, adopt_boost, master_boost, key,
                         ctr)
            ns2 = decide(2, mi, dm, ruled_out, n_use[2], n_young[2], deg, base, sm,
                         trained[i, 2] == 1, p2, q2, adopt_mult[pr, 2], master_mult[pr, 2],
                         mentoring_adoption, mentoring_learning, adopt_boost, master_boost, key,
                         ctr)
            new_state[i, 0] = ns0
            new_state[i, 1] = ns1
            new_state[i, 2] = ns2

            # training: one course on an eligible family (deployed, not mastered, not trained)
            tp = <double>train_prob[i]
            if tp > 0.0:
                n_elig = 0
                for f in range(NF):
                    elig[f] = ((dm >> f) & 1) and not ((mi >> (3 + f)) & 1) and trained[i, f] == 0
                    n_elig += elig[f]
                if n_elig > 0:
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
                band += age >= age_edges[b]
            et = est_type[e]
            cell = &cube[pr, band, et, 0, 0]
            cell[ns0] += 1
            cell[3 + ns1] += 1
            cell[6 + ns2] += 1
            if (<double>skill[i] - <double>skill0[i]) < risk_gain:
                risk[pr, 0] += ns0 == 2
                risk[pr, 1] += ns1 == 2
                risk[pr, 2] += ns2 == 2


def peer_counts(
    const int32_t[::1] indptr,
    const int32_t[::1] indices,
    const uint8_t[:, ::1] state,
    const float[::1] birth,
    bint mentoring,
    double gap,
    int32_t[:, ::1] use,
    int32_t[:, ::1] young,
):
    """The kernel's tie counts for every professional, OUT in ``use`` and ``young`` (for tests
    against ``rules.tie_counts`` and ``rules.mentor_counts``)."""
    cdef Py_ssize_t n = state.shape[0]
    cdef Py_ssize_t i
    cdef int f
    cdef int u[NF]
    cdef int y[NF]
    cdef uint8_t[::1] mask = np.empty(n + 1, dtype=np.uint8)
    cdef const int32_t* indices_p = &indices[0] if indices.shape[0] > 0 else NULL
    with nogil:
        pack_states(state, &mask[0])
        for i in range(n):
            count_ties(indices_p, indptr[i], indptr[i + 1], &mask[0], &birth[0],
                       <double>birth[i], mentoring, gap, u, y)
            for f in range(NF):
                use[i, f] = u[f]
                young[i, f] = y[f]


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
