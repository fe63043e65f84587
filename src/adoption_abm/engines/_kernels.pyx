# cython: language_level=3
"""Compiled monthly step of the professionals: the exact twin of ``rules.professionals_step``.

Same inputs, same uniforms (``rules.stream``: SplitMix64 of (month key, counter), evaluated here
only where a draw is needed), same floating-point operations in the same order, so every state
array is bit-identical to the reference. ``setup.py`` compiles with ``-ffp-contract=off`` so
that no fused multiply-add changes a rounding, and sets every compiler directive (this header
keeps only ``language_level``; ``ADOPTION_ABM_DEBUG=1`` builds with bounds checks).

The inputs (declared in ``_kernels.pxd``) are four small typed objects, :class:`Network`,
:class:`Professionals`, :class:`Establishments` and :class:`Month`, and the two tallies;
``engines.registry.cython_step`` builds them from the model's arrays and ``rules.MonthParams``.
The number of technology families ``F`` (1 to ``MAX_FAMILIES``) is the width of the state
arrays; every loop over families runs to ``F``, and the random stream has ``F + 1`` uniforms per
professional (slot ``F`` is training), as in ``rules.stream``.

How it is fast (docs/PERFORMANCE.md has the measurements; most of the time goes into reading
the ties' states):

* one pre-pass packs each professional's states into one byte (bit ``f``: uses or masters
  family ``f``; bit ``F + f``: masters it), so the tie loop reads one byte per tie from an
  array of N bytes that stays in cache, instead of F bytes from the state matrix;
* the tie loop adds one table entry per tie: ``Lanes.use[mask]`` spreads the F bits into F
  counters of ``64 // F`` bits in one 64-bit word, so the families are counted by one addition
  (exact integers; a degree too large for a lane, 2**21 ties for three families, 2**16 for
  four, takes the plain-counter loop instead);
* ties are read only for professionals with a decision that needs them (a deployed family not
  yet used), and in ``lazy`` mode (the default) only if the month's
  uniform of one of those decisions is below its hazard at peer shares of 1, an upper bound of
  the true hazard (see ``professionals_step``): most months, most professionals decide without
  reading their ties, with the same result;
* the CSR rows about to be read are prefetched (rows are skipped at random, so the hardware
  prefetcher loses the stream), shares ``k / d`` of small degrees come from a table of the
  same IEEE divisions, a family's uniform is drawn only where its transition can happen, and
  the training uniform before the (dearer) eligibility test, which only the few professionals
  below their training probability need;
* no Python object, no memoryview slicing, no exception check inside the ``nogil`` loop (in the
  normal build: the debug build checks every index and raises ``IndexError``);
* the row loop reads and writes the columns through raw pointers and row strides held in
  locals: through a memoryview, each byte the loop writes (a ``uint8`` store may alias
  anything) made the compiler reload the views' data pointers and strides (17 % fewer
  instructions; the debug build checks the establishment, profession and type indices, which
  come from the data, before the loop);
* ``threads``: the rows are cut into contiguous blocks of about ``BLOCK`` rows (an OpenMP
  ``prange``, dynamic schedule: each thread streams whole blocks of the columns and ties, and
  a thread that loses its core to another job holds up one block, not half the rows); the
  packing pre-pass is split the same way. Each block writes only its own rows of the outputs
  and its thread's copy of the tallies (``Tallies``), summed afterwards: integer sums, exact.
  Every scratch value is a local of ``month_rows``, so the blocks share nothing they write.

Randomness is counter-based (``rules.stream``): the uniform of professional ``i``, slot ``s``
is a pure function of the month's key and ``(i, s)``, so results do not depend on the order
professionals are visited in, nor on which of them are skipped, nor on the number of threads.
"""

import numpy as np

cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport floor, frexp, ldexp
from libc.stdlib cimport free, malloc, qsort
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint64_t

ABI = 6
"""Bumped whenever ``professionals_step``'s interface changes; ``engines.registry`` checks it,
so a stale compiled file is reported as such instead of failing with an obscure TypeError."""

cdef extern from *:
    """
    /* compile-time constants (module-level cdef variables would be loaded from memory) */
    #define ABM_GAMMA 0x9E3779B97F4A7C15ULL
    #define ABM_MIX1 0xBF58476D1CE4E5B9ULL
    #define ABM_MIX2 0x94D049BB133111EBULL
    #define ABM_TO_UNIT (1.0 / 9007199254740992.0)
    #define ABM_MAX_HAZARD 700.0
    #ifdef _OPENMP
    #define ABM_OPENMP 1
    #else
    #define ABM_OPENMP 0
    #endif
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
    const int ABM_OPENMP

cdef enum:
    N_MASKS = 1 << (2 * MAX_FAMILIES)  # values of a packed state byte

BLOCK_ROWS = BLOCK
"""Rows a block of the threads' schedule (``_kernels.pxd``: ``BLOCK``; for tests)."""
OPENMP = bool(ABM_OPENMP)
"""True if this build has OpenMP (``setup.py`` falls back to a serial build without it): then
``professionals_step(..., threads=k)`` runs its ``k`` blocks on ``k`` threads, else one after
the other (the same results either way)."""


# ---------------------------------------------------------------------------------------------
# Tables, filled once at import
# ---------------------------------------------------------------------------------------------
# USE_LANES[F - 1][m]: the "uses or masters" bits (0..F-1) of state byte m spread into F lanes
# of 64 // F bits; MASTER_LANES[F - 1][m]: the "masters" bits (F..2F-1). The F = 3 tables (64
# entries used, 512 bytes each) stay in L1 as before; with four families, 256 entries.
cdef uint64_t USE_LANES[MAX_FAMILIES][N_MASKS]
cdef uint64_t MASTER_LANES[MAX_FAMILIES][N_MASKS]

# STATE_BITS[F - 1][s]: state s's bits in the packed byte, for family 0: bit 0 if s >= 1 (uses
# or masters), bit F if s == 2 (masters); family f's are these shifted by f. A load instead of
# two comparisons per family in the packing pre-pass.
cdef uint8_t STATE_BITS[MAX_FAMILIES][256]

# SHARES[d * SHARE_DEG + k] = k / d for 0 < d < SHARE_DEG, 0 <= k <= d: the same IEEE division
# done once, so that a share costs a load instead of a division on the hazard's critical path.
cdef double SHARES[SHARE_DEG * SHARE_DEG]


cdef inline uint64_t spread(unsigned int bits, int n_families, int width) noexcept nogil:
    """Bit ``f`` of ``bits`` (``f < n_families``) moved to bit ``width * f``: one lane each."""
    cdef uint64_t word = 0
    cdef int f
    for f in range(n_families):
        word = word | (<uint64_t>((bits >> f) & 1) << (width * f))
    return word


cdef void _init_tables() noexcept nogil:
    cdef int nf, m, d, k
    for nf in range(1, MAX_FAMILIES + 1):
        for m in range(N_MASKS):
            USE_LANES[nf - 1][m] = spread(m & ((1 << nf) - 1), nf, 64 // nf)
            MASTER_LANES[nf - 1][m] = spread(m >> nf, nf, 64 // nf)
        for m in range(256):
            STATE_BITS[nf - 1][m] = (m >= 1) | ((m == 2) << nf)
    for d in range(SHARE_DEG):
        for k in range(SHARE_DEG):
            SHARES[d * SHARE_DEG + k] = (<double>k / <double>d) if 0 < d and k <= d else 0.0


_init_tables()


cdef inline Lanes lanes_for(int n_families) noexcept nogil:
    """The packed counters for ``n_families`` families (1 to MAX_FAMILIES)."""
    cdef Lanes lanes
    lanes.bits = 64 // n_families
    lanes.mask = (~(<uint64_t>0)) >> (64 - lanes.bits)
    lanes.limit = INT64_MAX if lanes.bits >= 63 else (<int64_t>1) << lanes.bits
    lanes.use = USE_LANES[n_families - 1]
    lanes.master = MASTER_LANES[n_families - 1]
    return lanes


cdef bint _bounds_checked():
    """Whether this build checks memoryview indices (``ADOPTION_ABM_DEBUG=1``): reads index 1
    of a one-element view of a two-element array (defined memory either way)."""
    cdef const uint8_t[::1] view = np.zeros(2, dtype=np.uint8)[:1]
    cdef Py_ssize_t i = 1
    cdef uint8_t value
    try:
        value = view[i]
    except IndexError:
        return True
    return False


BOUNDS_CHECKED = _bounds_checked()
"""True in a debug build (``ADOPTION_ABM_DEBUG=1``): every index is checked, ``IndexError``."""
cdef bint CHECKED = BOUNDS_CHECKED


# ---------------------------------------------------------------------------------------------
# The inputs (declared in _kernels.pxd)
# ---------------------------------------------------------------------------------------------
cdef int check_families(Py_ssize_t n_families) except -1:
    if not 1 <= n_families <= MAX_FAMILIES:
        raise ValueError(
            f"the compiled kernel handles 1 to {MAX_FAMILIES} technology families "
            f"(scenario.schema.MAX_FAMILIES), got {n_families}"
        )
    return 0


cdef int check_length(str name, Py_ssize_t got, Py_ssize_t expected) except -1:
    if got != expected:
        raise ValueError(f"{name} has length {got}, expected {expected}")
    return 0


cdef int check_families_axis(str name, Py_ssize_t got, Py_ssize_t n_families) except -1:
    if got != n_families:
        raise ValueError(f"{name} has {got} families, the states have {n_families}")
    return 0


cdef class Network:
    """The ties, CSR (IN): ``Network(indptr, indices, complete)`` as ``model.network``."""

    def __cinit__(self, const int32_t[::1] indptr, const int32_t[::1] indices, bint complete):
        if indptr.shape[0] < 1:
            raise ValueError("indptr needs n + 1 entries")
        self.n = indptr.shape[0] - 1
        self.complete = complete
        self.indptr = indptr
        self.indices = indices
        if not complete and indptr[self.n] > indices.shape[0]:
            raise ValueError(f"indptr ends at {indptr[self.n]}, past {indices.shape[0]} ties")


cdef class Professionals:
    """The professionals' columns (as ``model.state.Population``) and the step's output
    ``new_state``; ``F`` is ``state.shape[1]``."""

    def __cinit__(
        self,
        const uint8_t[::1] profession,
        const int32_t[::1] establishment,
        const float[::1] birth,
        const float[::1] propensity,
        const float[::1] train_prob,
        const float[::1] skill0,
        const uint8_t[::1] resist,
        const uint8_t[:, ::1] support,
        const uint8_t[:, ::1] state,
        float[::1] skill,
        uint8_t[:, ::1] trained,
        uint8_t[:, ::1] new_state,
    ):
        cdef Py_ssize_t n = profession.shape[0]
        check_families(state.shape[1])
        self.n = n
        self.n_families = <int>state.shape[1]
        for name, got in (
            ("establishment", establishment.shape[0]), ("birth", birth.shape[0]),
            ("propensity", propensity.shape[0]), ("train_prob", train_prob.shape[0]),
            ("skill0", skill0.shape[0]), ("skill", skill.shape[0]), ("state", state.shape[0]),
            ("resist", resist.shape[0]), ("support", support.shape[0]),
            ("trained", trained.shape[0]), ("new_state", new_state.shape[0]),
        ):
            check_length(name, got, n)
        check_families_axis("trained", trained.shape[1], self.n_families)
        check_families_axis("support", support.shape[1], self.n_families)
        check_families_axis("new_state", new_state.shape[1], self.n_families)
        self.profession = profession
        self.establishment = establishment
        self.birth = birth
        self.propensity = propensity
        self.train_prob = train_prob
        self.skill0 = skill0
        self.resist = resist
        self.support = support
        self.state = state
        self.skill = skill
        self.trained = trained
        self.new_state = new_state


cdef class Establishments:
    """The establishments' columns (IN): ``Establishments(deployed, type)``."""

    def __cinit__(self, const uint8_t[:, ::1] deployed, const uint8_t[::1] type):
        check_families(deployed.shape[1])
        check_length("type", type.shape[0], deployed.shape[0])
        self.n = deployed.shape[0]
        self.deployed = deployed
        self.type = type


cdef class Month:
    """The month's parameters (IN): ``rules.MonthParams``' arrays, then its scalars and the
    month's key by name (the fields of :c:type:`MonthRates`)."""

    def __cinit__(
        self,
        const double[::1] p,
        const double[::1] q,
        const double[:, ::1] adopt_mult,
        const double[:, ::1] master_mult,
        const double[:, ::1] quit_mult,
        const double[::1] risk_keep,
        const double[::1] age_edges,
        *,
        double skill_effect,
        double skill_mastery_effect,
        double train_adopt_boost,
        double train_master_boost,
        double train_skill_gain,
        double mentor_adopt_boost,
        double mentor_master_boost,
        double relearn_boost,
        double resist_threshold,
        double resist_factor,
        double quit_trained_keep,
        double quit_mentored_keep,
        double risk_gain,
        double t_end,
        uint64_t key,
    ):
        check_families(p.shape[0])
        self.n_families = <int>p.shape[0]
        self.n_professions = adopt_mult.shape[0]
        check_families_axis("q", q.shape[0], self.n_families)
        check_families_axis("adopt_mult", adopt_mult.shape[1], self.n_families)
        check_families_axis("master_mult", master_mult.shape[1], self.n_families)
        check_length("master_mult", master_mult.shape[0], self.n_professions)
        check_families_axis("quit_mult", quit_mult.shape[1], self.n_families)
        check_length("quit_mult", quit_mult.shape[0], self.n_professions)
        check_length("risk_keep", risk_keep.shape[0], self.n_professions)
        self.p = p
        self.q = q
        self.adopt_mult = adopt_mult
        self.master_mult = master_mult
        self.quit_mult = quit_mult
        self.risk_keep = risk_keep
        self.age_edges = age_edges
        self.rates.skill_effect = skill_effect
        self.rates.skill_mastery_effect = skill_mastery_effect
        self.rates.train_adopt_boost = train_adopt_boost
        self.rates.train_master_boost = train_master_boost
        self.rates.train_skill_gain = train_skill_gain
        self.rates.mentor_adopt_boost = mentor_adopt_boost
        self.rates.mentor_master_boost = mentor_master_boost
        self.rates.relearn_boost = relearn_boost
        self.rates.resist_threshold = resist_threshold
        self.rates.resist_factor = resist_factor
        self.rates.quit_trained_keep = quit_trained_keep
        self.rates.quit_mentored_keep = quit_mentored_keep
        self.rates.risk_gain = risk_gain
        self.rates.t_end = t_end
        self.rates.key = key


cdef int check_step(
    Network net, Professionals pop, Establishments est, Month month,
    const int64_t[:, :, :, :, ::1] cube, const int64_t[:, ::1] risk,
    const int64_t[:, ::1] legacy, const int64_t[::1] courses,
) except -1:
    """The inputs agree with one another (each object checked its own arrays)."""
    cdef int nf = pop.n_families
    cdef Py_ssize_t t, n_ties
    check_length("the network", net.n, pop.n)
    check_families_axis("est.deployed", est.deployed.shape[1], nf)
    check_families_axis("the month's parameters", month.n_families, nf)
    expected = (month.n_professions, month.age_edges.shape[0] + 1, None, nf, N_STATES)
    got = (cube.shape[0], cube.shape[1], cube.shape[2], cube.shape[3], cube.shape[4])
    if any(e is not None and g != e for g, e in zip(got, expected)):
        raise ValueError(f"cube has shape {got}, expected {expected} (None: any)")
    if (risk.shape[0], risk.shape[1]) != (month.n_professions, nf):
        raise ValueError(
            f"risk has shape {(risk.shape[0], risk.shape[1])}, expected {expected[0], nf}"
        )
    if (legacy.shape[0], legacy.shape[1]) != (month.n_professions, nf):
        raise ValueError(
            f"legacy has shape {(legacy.shape[0], legacy.shape[1])}, expected {expected[0], nf}"
        )
    check_length("courses", courses.shape[0], month.n_professions)
    if CHECKED:  # debug build: the step reads the columns through raw pointers
        for t in range(pop.n):
            if not 0 <= pop.establishment[t] < est.n:
                raise IndexError(
                    f"row {t}: establishment {pop.establishment[t]}, past {est.n} establishments"
                )
            if not pop.profession[t] < month.n_professions:
                raise IndexError(
                    f"row {t}: profession {pop.profession[t]}, past {month.n_professions}"
                )
        for t in range(est.n):
            if not est.type[t] < cube.shape[2]:
                raise IndexError(f"establishment {t}: type {est.type[t]}, past {cube.shape[2]}")
    if CHECKED and not net.complete:  # debug build: the tie loop reads raw pointers
        n_ties = net.indptr[net.n]
        for t in range(net.n):
            if not net.indptr[t] <= net.indptr[t + 1]:
                raise IndexError(f"indptr decreases at row {t}")
        for t in range(n_ties):
            if not 0 <= net.indices[t] < net.n:
                raise IndexError(f"tie {t} points to row {net.indices[t]}, past {net.n} rows")
    return 0


# ---------------------------------------------------------------------------------------------
# Helpers (declared in _kernels.pxd)
# ---------------------------------------------------------------------------------------------
cdef inline double ratio(int k, int64_t d) noexcept nogil:
    """k / d in double (d > 0, 0 <= k <= d), from the table when d is small."""
    if d < SHARE_DEG:
        return SHARES[d * SHARE_DEG + k]
    return <double>k / <double>d


cdef inline double uniform(uint64_t key, uint64_t counter) noexcept nogil:
    """SplitMix64 output number ``counter`` of the stream starting at ``key``, in [0, 1)."""
    cdef uint64_t z = key + counter * GAMMA
    z = (z ^ (z >> 30)) * MIX1
    z = (z ^ (z >> 27)) * MIX2
    z = z ^ (z >> 31)
    return <double>(z >> 11) * TO_UNIT


cdef double one_minus_exp_neg(double x) noexcept nogil:
    """1 - exp(-x) exactly as ``rules.stream.one_minus_exp_neg`` computes it. Not inline: it is
    evaluated only when the uniform is below the hazard (``happens``), rarely."""
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


cdef inline double adoption_hazard(
    double rate, double base, double adopt_mult, bint trained, double adopt_boost,
    bint mentored, double mentor_boost,
) noexcept nogil:
    """Monthly adoption hazard ``rate · ψ(1 + s(skill - ½)) · a_{prof,f} · (1 + b)^trained ·
    (1 + b_w)^mentored`` (``rate`` is ``p + q F``, ``base`` is ``ψ(1 + s(skill - ½))``,
    ``adopt_boost`` is ``1 + b``, ``mentor_boost`` is ``1 + b_w``). A resister's factor is
    applied by the caller, which knows the share of ties using."""
    cdef double x = rate * base * adopt_mult
    if trained:
        x = x * adopt_boost
    if mentored:
        x = x * mentor_boost
    return x


cdef inline double mastery_hazard(
    double master_mult, double sm, bint trained, double master_boost, bint mentored,
    double mentor_boost, bint legacy, double relearn,
) noexcept nogil:
    """Monthly mastery hazard ``μ_{prof,f} · (1 + s_m(skill - ½)) · (1 + b_m)^trained ·
    (1 + b_l)^mentored · (1 + r)^legacy`` (``sm``, ``master_boost``, ``mentor_boost`` and
    ``relearn`` are the factors ``1 + ...``)."""
    cdef double x = master_mult * sm
    if trained:
        x = x * master_boost
    if mentored:
        x = x * mentor_boost
    if legacy:
        x = x * relearn
    return x


# ---------------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------------
# One professional's row of states, F bytes: ``sizeof(Row)`` is the number of families. The
# month's loop is a fused function of ``Row``, so each of its four versions has F as a
# compile-time constant and the C compiler unrolls every loop over the families (and folds the
# lanes' widths and masks) as if they had been written out for that F.
cdef struct Row1:
    uint8_t s[1]
cdef struct Row2:
    uint8_t s[2]
cdef struct Row3:
    uint8_t s[3]
cdef struct Row4:
    uint8_t s[4]
ctypedef fused Row:
    Row1
    Row2
    Row3
    Row4


cdef inline void pack_states(
    const uint8_t[:, ::1] state, int nf, uint8_t* mask, Py_ssize_t start, Py_ssize_t stop
) noexcept nogil:
    """mask[i] for rows ``start`` to ``stop - 1``: bit f if professional i uses or masters
    family f, bit F + f if it masters it (``nf``: F, the width of ``state``)."""
    cdef Py_ssize_t i
    cdef unsigned int mi
    cdef int f
    cdef const uint8_t* bits = STATE_BITS[nf - 1]
    for i in range(start, stop):
        mi = 0
        for f in range(nf):
            mi = mi | (<unsigned int>bits[state[i, f]] << f)
        mask[i] = <uint8_t>mi


cdef inline void count_ties(
    const int32_t* indices, Py_ssize_t lo, Py_ssize_t hi, const uint8_t* mask, int n_families,
    const Lanes* lanes, int* use,
) noexcept nogil:
    """Over ties ``indices[lo:hi]``: how many use or master each family (``use``, OUT)."""
    cdef Py_ssize_t t
    cdef unsigned int mj
    cdef int f
    cdef uint64_t acc = 0
    cdef const uint64_t* use_lanes = lanes.use
    if hi - lo < lanes.limit:  # one addition per tie counts every family
        for t in range(lo, hi):
            acc += use_lanes[mask[indices[t]]]
        for f in range(n_families):
            use[f] = <int>((acc >> (lanes.bits * f)) & lanes.mask)
    else:  # a degree past the packed counters: plain counters
        for f in range(n_families):
            use[f] = 0
        for t in range(lo, hi):
            mj = mask[indices[t]]
            for f in range(n_families):
                use[f] += (mj >> f) & 1


cdef inline int state_of(unsigned int mi, int f, int nf) noexcept nogil:
    """Family ``f``'s state (0, 1 or 2) in packed state byte ``mi`` (``nf`` families)."""
    return <int>(((mi >> f) & 1) + ((mi >> (nf + f)) & 1))


cdef inline double transition_hazard(
    int f, int s, unsigned int dm, unsigned int ruled_out, int n_use, int64_t deg,
    double base, double sm, bint trained, bint mentored, bint legacy, bint resister,
    double p, double q, double adopt_mult, double master_mult, const MonthRates* r,
    double adopt_boost, double master_boost, double mentor_adopt, double mentor_master,
    double relearn,
) noexcept nogil:
    """The hazard of family ``f``'s adoption or mastery this month from state ``s`` (see
    ``rules.professionals_step``), or 0.0 where none can happen (mastered, not deployed, or
    ruled out by the lazy bound). A hazard of 0.0 or less never gives a transition
    (``happens``), so the caller draws only for positive ones (or for a discontinuance)."""
    cdef double share = 0.0
    cdef double x
    if s == 0:
        if (ruled_out >> f) & 1:  # its uniform is above its largest possible hazard
            return 0.0
        if not (dm >> f) & 1:
            return 0.0
        if deg > 0:
            share = ratio(n_use, deg)
        x = adoption_hazard(p + q * share, base, adopt_mult, trained, adopt_boost, mentored,
                            mentor_adopt)
        if resister and share < r.resist_threshold:
            x = x * r.resist_factor
        return x
    if s == 1:
        return mastery_hazard(master_mult, sm, trained, master_boost, mentored, mentor_master,
                              legacy, relearn)
    return 0.0


def professionals_step(
    Network net,
    Professionals pop,
    Establishments est,
    Month month,
    int64_t[:, :, :, :, ::1] cube,
    int64_t[:, ::1] risk,
    int64_t[:, ::1] legacy,
    int64_t[::1] courses,
    bint lazy=True,
    int threads=1,
):
    """One month for every professional; see ``rules.professionals_step`` for the rules.

    ``net``, ``est``, ``month`` (IN); ``pop`` (IN; ``skill`` and ``trained`` INOUT, own row
    only; ``new_state`` OUT); ``cube[prof, age band, type, family, state]``,
    ``risk[prof, family]``, ``legacy[prof, family]`` and ``courses[prof]`` (OUT, zeroed by the
    caller): the month's tallies (``rules.tallies.MonthTally``).

    ``lazy=False`` reads the ties of every professional with an adoption decision (the only
    decision that depends on them); ``lazy=True`` (the default) first compares each such
    decision's uniform with its hazard at the largest possible peer share (1), and reads the
    ties only if one of them could happen. Hazards are sums and products of non-negative terms
    (a resister's factor is at most 1), and rounded IEEE operations are monotone, so the
    computed hazard never exceeds that bound: both modes give the same results, bit for bit.
    The bound is used only when every factor is non-negative (checked each month and for each
    professional); otherwise the ties are read.

    ``threads`` (>= 1): OpenMP threads (a build without OpenMP runs on one). The professionals
    are cut into contiguous blocks of about ``BLOCK`` rows (at least one a thread), handed to
    the threads as they become free (dynamic schedule: on a machine shared with other jobs, a
    thread that loses its core holds up one block, not a fixed share of the rows). A block
    writes only its own rows of ``new_state``, ``skill`` and ``trained``, and its thread's own
    copy of the tallies, summed afterwards (integers: exact whatever thread counted which
    row). The uniforms are a pure function of (month key, row), so the results are identical
    for every thread count and every assignment of blocks to threads.
    """
    if threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads}")
    check_step(net, pop, est, month, cube, risk, legacy, courses)
    cdef int n_threads = threads if pop.n >= threads else 1
    # one copy of each tally a thread (thread 0 writes into the caller's arrays)
    shape = (n_threads - 1,)
    cdef int64_t[:, :, :, :, :, ::1] cube_b = np.zeros(shape + np.asarray(cube).shape, np.int64)
    cdef int64_t[:, :, ::1] risk_b = np.zeros(shape + np.asarray(risk).shape, np.int64)
    cdef int64_t[:, :, ::1] legacy_b = np.zeros(shape + np.asarray(legacy).shape, np.int64)
    cdef int64_t[:, ::1] courses_b = np.zeros(shape + np.asarray(courses).shape, np.int64)
    cdef Tallies tallies = Tallies(cube, risk, legacy, courses, cube_b, risk_b, legacy_b,
                                   courses_b)
    if pop.n_families == 1:
        month_loop(<const Row1*>NULL, net, pop, est, month, tallies, lazy, n_threads)
    elif pop.n_families == 2:
        month_loop(<const Row2*>NULL, net, pop, est, month, tallies, lazy, n_threads)
    elif pop.n_families == 3:
        month_loop(<const Row3*>NULL, net, pop, est, month, tallies, lazy, n_threads)
    else:
        month_loop(<const Row4*>NULL, net, pop, est, month, tallies, lazy, n_threads)
    if n_threads > 1:  # in thread order (integer sums: any order gives the same)
        for name, total, parts in (("cube", cube, cube_b), ("risk", risk, risk_b),
                                   ("legacy", legacy, legacy_b),
                                   ("courses", courses, courses_b)):
            a = np.asarray(total)
            for part in np.asarray(parts):
                a += part


@cython.final
cdef class Tallies:
    """The month's tallies (OUT): the caller's arrays, written by thread 0, and one more copy
    per further thread (axis 0 of ``*_b``: thread ``k`` writes ``*_b[k - 1]``)."""

    cdef int64_t[:, :, :, :, ::1] cube
    cdef int64_t[:, ::1] risk
    cdef int64_t[:, ::1] legacy
    cdef int64_t[::1] courses
    cdef int64_t[:, :, :, :, :, ::1] cube_b
    cdef int64_t[:, :, ::1] risk_b
    cdef int64_t[:, :, ::1] legacy_b
    cdef int64_t[:, ::1] courses_b

    def __cinit__(self, cube, risk, legacy, courses, cube_b, risk_b, legacy_b, courses_b):
        self.cube = cube
        self.risk = risk
        self.legacy = legacy
        self.courses = courses
        self.cube_b = cube_b
        self.risk_b = risk_b
        self.legacy_b = legacy_b
        self.courses_b = courses_b


cdef struct Shared:
    # What the month's pre-pass computes once for every row (IN for the blocks).
    const uint8_t* mask  # (n + 1,) packed states (see the module's docstring)
    const uint8_t* dep  # (establishments,) packed deployed families
    const int32_t* indices  # the ties (CSR), NULL if there are none
    int64_t tot[MAX_FAMILIES]  # complete network: professionals using each family
    double a_bound[MAX_FAMILIES]  # p + q: the adoption rate at peer share 1 (lazy bound)
    bint bounded  # the lazy bound is valid this month
    bint quits  # any discontinuance this month (else its hazards are not computed)


cdef int month_loop(
    const Row* row,
    Network net,
    Professionals pop,
    Establishments est,
    Month month,
    Tallies tallies,
    bint lazy,
    int n_threads,
) except -1:
    """The month for every professional (see ``professionals_step``), in contiguous blocks of
    rows on ``n_threads`` OpenMP threads. Only the type of ``row`` matters: ``sizeof(Row)`` is
    F; the pointer is not read."""
    cdef const uint8_t[:, ::1] deployed = est.deployed
    cdef const double[::1] p = month.p
    cdef const double[::1] q = month.q
    cdef const double[:, ::1] adopt_mult = month.adopt_mult
    cdef const double[:, ::1] quit_mult = month.quit_mult
    cdef MonthRates r = month.rates
    cdef Py_ssize_t n = pop.n
    cdef Py_ssize_t n_est = est.n
    cdef Py_ssize_t n_prof = month.n_professions
    cdef int nf = sizeof(Row)
    cdef Py_ssize_t i, e, blk, lo, hi
    cdef int f, pr
    cdef unsigned int dm
    cdef uint8_t[::1] mask = np.empty(n + 1, dtype=np.uint8)  # packed states (see module doc)
    cdef uint8_t[::1] dep = np.empty(n_est + 1, dtype=np.uint8)  # packed deployed families
    cdef Shared sh
    # blocks of about BLOCK rows, at least one a thread
    cdef Py_ssize_t n_blocks = max(<Py_ssize_t>n_threads, (n + BLOCK - 1) // BLOCK)
    cdef Py_ssize_t chunk = (n + n_blocks - 1) // n_blocks
    sh.mask = &mask[0]
    sh.dep = &dep[0]
    sh.indices = &net.indices[0] if net.indices.shape[0] > 0 else NULL

    with nogil:
        # pre-pass: pack states (in the threads' blocks) and deployments into one byte each
        for blk in prange(n_blocks, schedule="dynamic", chunksize=1, num_threads=n_threads):
            pack_states(pop.state, nf, &mask[0], blk * chunk, min(n, (blk + 1) * chunk))
        for e in range(n_est):
            dm = 0
            for f in range(nf):
                dm = dm | ((deployed[e, f] != 0) << f)
            dep[e] = <uint8_t>dm
        for f in range(nf):
            sh.tot[f] = 0
        if net.complete:
            for i in range(n):
                for f in range(nf):
                    sh.tot[f] += (mask[i] >> f) & 1

        # the bound: adoption hazards at peer share 1, valid if every factor is non-negative
        # (and a resister's factor at most 1)
        sh.bounded = (lazy and 1.0 + r.train_adopt_boost >= 0.0
                      and 1.0 + r.mentor_adopt_boost >= 0.0
                      and 0.0 <= r.resist_factor <= 1.0)
        sh.quits = False
        for f in range(nf):
            sh.bounded = sh.bounded and q[f] >= 0.0
            sh.a_bound[f] = p[f] + q[f] * 1.0
            for pr in range(n_prof):
                sh.bounded = sh.bounded and adopt_mult[pr, f] >= 0.0
                sh.quits = sh.quits or quit_mult[pr, f] > 0.0

        # the rows: block blk is rows [blk * chunk, (blk + 1) * chunk), counted in the
        # tallies' copy of the thread that runs it
        for blk in prange(n_blocks, schedule="dynamic", chunksize=1, num_threads=n_threads):
            month_rows(row, net, pop, est, month, tallies, &sh, threadid(), blk * chunk,
                       min(n, (blk + 1) * chunk))
    return 0


cdef int month_rows(
    const Row* row,
    Network net,
    Professionals pop,
    Establishments est,
    Month month,
    Tallies tallies,
    const Shared* sh,
    int tid,
    Py_ssize_t start,
    Py_ssize_t stop,
) except -1 nogil:
    """Rows ``start`` to ``stop - 1`` of the month (a block, run by thread ``tid``): their new
    states, skills and training (own rows only), counted in thread ``tid``'s copy of the
    tallies. Every scratch value is a local of this call, so two blocks share nothing they
    write."""
    # network
    cdef const int32_t[::1] indptr = net.indptr
    cdef bint complete = net.complete
    # professionals
    cdef const uint8_t[::1] profession = pop.profession
    cdef const int32_t[::1] establishment = pop.establishment
    cdef const float[::1] birth = pop.birth
    cdef const float[::1] propensity = pop.propensity
    cdef const float[::1] train_prob = pop.train_prob
    cdef const float[::1] skill0 = pop.skill0
    cdef const uint8_t[::1] resist = pop.resist
    cdef const uint8_t[:, ::1] support = pop.support
    cdef float[::1] skill = pop.skill
    cdef uint8_t[:, ::1] trained = pop.trained
    cdef uint8_t[:, ::1] new_state = pop.new_state
    # establishments
    cdef const uint8_t[::1] est_type = est.type
    # the month
    cdef const double[::1] p = month.p
    cdef const double[::1] q = month.q
    cdef const double[:, ::1] adopt_mult = month.adopt_mult
    cdef const double[:, ::1] master_mult = month.master_mult
    cdef const double[:, ::1] quit_mult = month.quit_mult
    cdef const double[::1] risk_keep = month.risk_keep
    cdef const double[::1] age_edges = month.age_edges
    cdef MonthRates r = month.rates
    cdef double adopt_boost = 1.0 + r.train_adopt_boost
    cdef double master_boost = 1.0 + r.train_master_boost
    cdef double mentor_adopt = 1.0 + r.mentor_adopt_boost
    cdef double mentor_master = 1.0 + r.mentor_master_boost
    cdef double relearn = 1.0 + r.relearn_boost
    cdef uint64_t key = r.key

    cdef Py_ssize_t n = pop.n
    cdef Py_ssize_t n_edges = age_edges.shape[0]
    cdef int nf = sizeof(Row)  # F, a constant in each version of this function
    cdef uint64_t n_slots = <uint64_t>nf + 1  # rules.stream.slots(F); slot F is training
    cdef unsigned int families = (1u << nf) - 1
    cdef Lanes lanes = lanes_for(nf)
    cdef Py_ssize_t i, t, b, lo, hi
    cdef int f, pr, e, et, band, n_elig, pick, chosen
    cdef unsigned int mi, dm, need, ruled_out, sup_m, sup_l
    cdef int64_t deg, milli
    cdef int n_use[MAX_FAMILIES]
    cdef int ns[MAX_FAMILIES]
    cdef double x_f[MAX_FAMILIES]
    cdef double d_f[MAX_FAMILIES]
    cdef bint elig[MAX_FAMILIES]
    cdef bint bounded = sh.bounded
    cdef bint quits = sh.quits
    cdef bint resister, masters
    cdef double sk, base, sm, x, v, tp, age, short
    cdef uint64_t ctr
    cdef int64_t* cell
    cdef const uint8_t* mask_p = sh.mask
    # the month's pre-pass values as locals (no reload after each byte written)
    cdef double a_bound[MAX_FAMILIES]
    cdef int64_t tot[MAX_FAMILIES]
    for f in range(nf):
        a_bound[f] = sh.a_bound[f]
        tot[f] = sh.tot[f]
    # this thread's copy of the tallies
    cdef int64_t[:, :, :, :, ::1] cube = tallies.cube if tid == 0 else tallies.cube_b[tid - 1]
    cdef int64_t[:, ::1] risk = tallies.risk if tid == 0 else tallies.risk_b[tid - 1]
    cdef int64_t[:, ::1] legacy = tallies.legacy if tid == 0 else tallies.legacy_b[tid - 1]
    cdef int64_t[::1] courses = tallies.courses if tid == 0 else tallies.courses_b[tid - 1]
    cdef const uint8_t* dep = sh.dep
    cdef const int32_t* indices_p = sh.indices
    if start >= stop:
        return 0
    # Raw pointers and row strides (in elements) for the loop: locals whose address is never
    # taken, so the compiler keeps them in registers; a memoryview's data pointer and strides
    # would be reloaded after every byte the loop writes (a uint8 store may alias anything).
    # The debug build checks the data-dependent indices up front (check_step).
    cdef const int32_t* indptr_p = &indptr[0]
    cdef const uint8_t* profession_p = &profession[0]
    cdef const int32_t* establishment_p = &establishment[0]
    cdef const float* birth_p = &birth[0]
    cdef const float* propensity_p = &propensity[0]
    cdef const float* train_prob_p = &train_prob[0]
    cdef const float* skill0_p = &skill0[0]
    cdef const uint8_t* resist_p = &resist[0]
    cdef float* skill_p = &skill[0]
    cdef const uint8_t* support_p = &support[0, 0]
    cdef uint8_t* trained_p = &trained[0, 0]
    cdef uint8_t* new_state_p = &new_state[0, 0]
    cdef Py_ssize_t support_s = support.strides[0]
    cdef Py_ssize_t trained_s = trained.strides[0]
    cdef Py_ssize_t new_state_s = new_state.strides[0]
    cdef const uint8_t* est_type_p = &est_type[0]
    cdef const double* p_p = &p[0]
    cdef const double* q_p = &q[0]
    cdef const double* adopt_p = &adopt_mult[0, 0]
    cdef const double* master_p = &master_mult[0, 0]
    cdef const double* quit_p = &quit_mult[0, 0]
    cdef Py_ssize_t mult_s = adopt_mult.strides[0] // sizeof(double)
    cdef Py_ssize_t master_s = master_mult.strides[0] // sizeof(double)
    cdef Py_ssize_t quit_s = quit_mult.strides[0] // sizeof(double)
    cdef const double* risk_keep_p = &risk_keep[0]
    cdef const double* age_edges_p = &age_edges[0] if n_edges > 0 else NULL
    cdef int64_t* cube_p = &cube[0, 0, 0, 0, 0]
    cdef Py_ssize_t cube_s0 = cube.strides[0] // sizeof(int64_t)
    cdef Py_ssize_t cube_s1 = cube.strides[1] // sizeof(int64_t)
    cdef Py_ssize_t cube_s2 = cube.strides[2] // sizeof(int64_t)
    cdef int64_t* risk_p = &risk[0, 0]
    cdef int64_t* legacy_p = &legacy[0, 0]
    cdef Py_ssize_t risk_s = risk.strides[0] // sizeof(int64_t)
    cdef Py_ssize_t legacy_s = legacy.strides[0] // sizeof(int64_t)
    cdef int64_t* courses_p = &courses[0]
    cdef const uint8_t* sup_row
    cdef uint8_t* tr_row
    cdef uint8_t* ns_row
    cdef const double* am_row
    cdef const double* mm_row
    cdef const double* qm_row

    for i in range(start, stop):
        if not complete and i + AHEAD < n:
            # rows are skipped at random, so the hardware prefetcher loses the stream
            t = indptr_p[i + AHEAD]
            prefetch(indices_p + t)
            prefetch(indices_p + t + 16)
        e = establishment_p[i]
        pr = profession_p[i]
        mi = mask_p[i]
        dm = dep[e]
        resister = resist_p[i] == 1
        sup_row = support_p + i * support_s
        tr_row = trained_p + i * trained_s
        ns_row = new_state_p + i * new_state_s
        am_row = adopt_p + pr * mult_s
        mm_row = master_p + pr * master_s
        qm_row = quit_p + pr * quit_s
        sup_m = 0
        sup_l = 0
        for f in range(nf):
            sup_m = sup_m | (<unsigned int>(sup_row[f] & 1) << f)
            sup_l = sup_l | (<unsigned int>((sup_row[f] >> 1) & 1) << f)
        sk = <double>skill_p[i]
        base = <double>propensity_p[i] * (1.0 + r.skill_effect * (sk - 0.5))
        sm = 1.0 + r.skill_mastery_effect * (sk - 0.5)
        ctr = <uint64_t>i * n_slots + 1
        # families whose decision reads the ties: deployed and not used (adoption)
        need = (~mi) & dm & families
        ruled_out = 0
        if need and bounded and base >= 0.0:
            for f in range(nf):
                if (need >> f) & 1:
                    x = adoption_hazard(a_bound[f], base, am_row[f],
                                        tr_row[f] == 1, adopt_boost,
                                        (sup_m >> f) & 1, mentor_adopt)
                    if uniform(key, ctr + f) >= x:
                        ruled_out = ruled_out | (1u << f)
            need = need & ~ruled_out
        for f in range(nf):
            n_use[f] = 0

        # peer counts over the ties (only if some decision reads them)
        if complete:
            deg = n - 1
            if need:
                for f in range(nf):
                    n_use[f] = <int>(tot[f] - ((mi >> f) & 1))
        else:
            lo = indptr_p[i]
            hi = indptr_p[i + 1]
            deg = hi - lo
            if need:
                count_ties(indices_p, lo, hi, mask_p, nf, &lanes, n_use)

        # decisions: each family's hazards, then its draw (short loops, so that the
        # compiler unrolls them). A user's uniform decides mastery at its low end and
        # discontinuance at its high end (1 - u), as in the reference.
        for f in range(nf):
            ns[f] = state_of(mi, f, nf)
            x_f[f] = transition_hazard(
                f, ns[f], dm, ruled_out, n_use[f], deg, base, sm, tr_row[f] == 1,
                (sup_m >> f) & 1, (sup_l >> f) & 1, resister, p_p[f], q_p[f],
                am_row[f], mm_row[f], &r, adopt_boost, master_boost,
                mentor_adopt, mentor_master, relearn)
            d_f[f] = 0.0
            if quits and ns[f] == 1:
                d_f[f] = qm_row[f]
                if tr_row[f] == 1:
                    d_f[f] = d_f[f] * r.quit_trained_keep
                if (sup_m >> f) & 1:
                    d_f[f] = d_f[f] * r.quit_mentored_keep
        for f in range(nf):
            if x_f[f] > 0.0 or d_f[f] > 0.0:
                v = uniform(key, ctr + f)
                if x_f[f] > 0.0 and happens(v, x_f[f]):
                    ns[f] += 1
                elif d_f[f] > 0.0 and happens(1.0 - v, d_f[f]):
                    ns[f] = 0
            ns_row[f] = <uint8_t>ns[f]

        # training: one course on an eligible family (deployed, not mastered, not trained),
        # chosen with the training uniform. The uniform is a pure function of (key, i), so
        # it is drawn first: eligibility is looked at only for the few below ``tp``.
        tp = <double>train_prob_p[i]
        if tp > 0.0:
            v = uniform(key, ctr + nf)  # rules.stream.training_slot(F)
            if v < tp:
                n_elig = 0
                for f in range(nf):
                    elig[f] = (((dm >> f) & 1) and not ((mi >> (nf + f)) & 1)
                               and tr_row[f] == 0)
                    n_elig += elig[f]
                if n_elig > 0:
                    pick = <int>floor((v / tp) * n_elig)
                    if pick > n_elig - 1:
                        pick = n_elig - 1
                    chosen = -1
                    for f in range(nf):
                        if elig[f]:
                            if pick == 0:
                                chosen = f
                                break
                            pick -= 1
                    tr_row[chosen] = 1
                    skill_p[i] = <float>(sk + r.train_skill_gain * (1.0 - sk))
                    courses_p[pr] += 1

        # tallies (this thread's copy)
        age = r.t_end - <double>birth_p[i]
        band = 0
        for b in range(n_edges):
            band += age >= age_edges_p[b]
        et = est_type_p[e]
        cell = cube_p + pr * cube_s0 + band * cube_s1 + et * cube_s2
        masters = False
        for f in range(nf):
            cell[N_STATES * f + ns[f]] += 1
            masters = masters or ns[f] == 2
            if ns[f] == 1 and (sup_l >> f) & 1:
                legacy_p[pr * legacy_s + f] += 1
        if masters:  # rules.tallies.shortfall_milli
            short = 1.0 - (<double>skill_p[i] - <double>skill0_p[i]) / r.risk_gain
            if short < 0.0:
                short = 0.0
            if short > 1.0:
                short = 1.0
            short = short * risk_keep_p[pr]
            milli = <int64_t>floor(short * 1000.0)
            for f in range(nf):
                if ns[f] == 2:
                    risk_p[pr * risk_s + f] += milli
    return 0


# ---------------------------------------------------------------------------------------------
# The month's training demand (rules.supply.training_demand's twin)
# ---------------------------------------------------------------------------------------------
def training_demand(
    const uint8_t[:, ::1] state,
    const uint8_t[:, ::1] trained,
    const uint8_t[:, ::1] deployed,
    const int32_t[::1] establishment,
    const float[::1] train_prob,
    const float[::1] train_free,
):
    """Σ of ``train_prob`` and of ``train_free`` over the professionals with an eligible family
    (deployed by their establishment, not mastered, not trained), each term in fixed point
    (truncated to a multiple of 2**-40): integer sums, exact and independent of the order, so
    this equals ``rules.supply.training_demand`` bit for bit. Returns the two int64 sums."""
    cdef Py_ssize_t n = state.shape[0]
    cdef Py_ssize_t nf = state.shape[1]
    cdef Py_ssize_t i, f
    cdef int32_t e
    cdef DemandRows args
    if (trained.shape[0], trained.shape[1]) != (n, nf) or deployed.shape[1] != nf:
        raise ValueError("state, trained and deployed must have the same families")
    for name, length in (("establishment", establishment.shape[0]),
                         ("train_prob", train_prob.shape[0]),
                         ("train_free", train_free.shape[0])):
        if length != n:
            raise ValueError(f"{name} has {length} rows, the population {n}")
    cdef Py_ssize_t n_est = deployed.shape[0]
    check_families(nf)
    for i in range(n):
        if not 0 <= establishment[i] < n_est:
            raise IndexError(f"professional {i} is in establishment {establishment[i]}, "
                             f"past {n_est}")
    # each establishment's deployed families as bits, so that a row's test is one AND
    cdef uint8_t[::1] deployed_bits = np.zeros(max(n_est, 1), dtype=np.uint8)
    cdef int64_t sums[2]
    sums[0] = 0
    sums[1] = 0
    if n == 0:
        return 0, 0
    with nogil:
        for e in range(n_est):
            for f in range(nf):
                if deployed[e, f] == 1:
                    deployed_bits[e] |= <uint8_t>(1 << f)
        args = DemandRows(&state[0, 0], &trained[0, 0], &deployed_bits[0], &establishment[0],
                          &train_prob[0], &train_free[0], n)
        if nf == 1:
            demand_rows(<const Row1*>NULL, &args, sums)
        elif nf == 2:
            demand_rows(<const Row2*>NULL, &args, sums)
        elif nf == 3:
            demand_rows(<const Row3*>NULL, &args, sums)
        else:
            demand_rows(<const Row4*>NULL, &args, sums)
    return sums[0], sums[1]


cdef struct DemandRows:
    const uint8_t* state  # (n, F) row-major
    const uint8_t* trained  # (n, F) row-major
    const uint8_t* deployed_bits  # (establishments,) deployed families as bits
    const int32_t* establishment
    const float* train_prob
    const float* train_free
    Py_ssize_t n


cdef void demand_rows(const Row* row, const DemandRows* a, int64_t* sums) noexcept nogil:
    """``training_demand``'s sums over the rows (F = ``sizeof(Row)``, a constant in each
    version, so the loop over the families is unrolled): ``sums[0]`` of ``train_prob``,
    ``sums[1]`` of ``train_free``, in fixed point."""
    cdef int nf = sizeof(Row)
    cdef Py_ssize_t i
    cdef int f
    cdef unsigned int open_bits
    cdef int64_t want = 0, free = 0
    cdef double scale = 1099511627776.0  # 2**40
    cdef const uint8_t* st = a.state
    cdef const uint8_t* tr = a.trained
    for i in range(a.n):
        open_bits = 0  # families neither mastered nor trained on
        for f in range(nf):
            open_bits |= <unsigned int>((st[i * nf + f] < 2) & (tr[i * nf + f] == 0)) << f
        if open_bits & a.deployed_bits[a.establishment[i]]:
            want += <int64_t>(<double>a.train_prob[i] * scale)
            free += <int64_t>(<double>a.train_free[i] * scale)
    sums[0] = want
    sums[1] = free


# ---------------------------------------------------------------------------------------------
# The month's other per-row work: twins of rules.demography, rules.deployment and
# outputs.deployment (engines.months calls them; the NumPy functions stay the specification)
# ---------------------------------------------------------------------------------------------
def retirees(const float[::1] birth, const float[::1] retire_age, double t):
    """The rows whose age at ``t``, ``t - birth`` in double, has reached their retirement age
    (``rules.demography.replace_retirees``' test), int64, in row order."""
    cdef Py_ssize_t n = birth.shape[0]
    cdef Py_ssize_t i, k = 0
    check_length("retire_age", retire_age.shape[0], n)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] rows = out
    with nogil:
        for i in range(n):
            if t - <double>birth[i] >= <double>retire_age[i]:
                rows[k] = i
                k += 1
    return out[:k]


cdef inline double clip01(double x) noexcept nogil:
    """``np.clip(x, 0.0, 1.0)`` (NaN stays NaN, as NumPy's)."""
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


def admit_entrants(
    const int64_t[::1] rows,
    const double[::1] entry_draw,
    const double[::1] attitude_draw,
    const double[::1] skill_draw,
    const double[::1] retire_draw,
    const double[:, ::1] exposure_draw,
    const double[::1] exposure_share,
    const int64_t[::1] exposure_family,
    const double[::1] resist_draw,
    const double[::1] entry_age,
    const double[::1] retire_low,
    const double[::1] retire_high,
    const double[::1] entry_shift,
    const double[::1] skill_lever,
    const double[::1] attitude_lever,
    const double[::1] exposure_lever,
    const double[::1] resist_share,
    double t,
    double skill_age_slope,
    double entrant_skill_shift,
    double attitude_age_slope,
    double resist_age_slope,
    const uint8_t[::1] profession,
    const int32_t[::1] establishment,
    const uint8_t[:, ::1] deployed,
    float[::1] birth,
    float[::1] retire_age,
    float[::1] attitude,
    float[::1] skill,
    float[::1] skill0,
    uint8_t[:, ::1] state,
    uint8_t[:, ::1] trained,
    uint8_t[:, ::1] support,
    uint8_t[::1] resist,
):
    """``rules.demography.replace_retirees`` after its draws: the entrants in ``rows`` take
    their posts, with the same floating-point operations in the same order.

    The draws (IN, one per entrant, drawn by the caller in the reference's order): ``entry_draw``
    (uniform on [-1, 1)), ``attitude_draw`` and ``skill_draw`` (betas), ``retire_draw``
    (uniforms on [0, 1): the retirement age is ``low + (high - low) · u``, what NumPy's
    ``Generator.uniform(low, high)`` computes from the same uniform), ``exposure_draw`` (G, k) (``rules.cohorts.initial_training``, one row per
    family with an exposure table: family ``exposure_family[g]`` at share ``exposure_share[g]``;
    G = 0 with cohorts off) and ``resist_draw`` (``draw_resisters``; empty with resistance off).
    Per profession (IN): ``entry_age``, ``retire_low``, ``retire_high``, ``resist_share``, and the levers ``entry_shift``,
    ``skill_lever``, ``attitude_lever``, ``exposure_lever`` (empty when the lever is None).
    ``attitude_age_slope``: 0.0 unless cohorts are on (``rules.cohorts.attitude_by_age``).
    The population columns are INOUT (only the entrants' rows are written)."""
    cdef Py_ssize_t k = rows.shape[0]
    cdef Py_ssize_t nf = state.shape[1]
    cdef Py_ssize_t n_exposed = exposure_share.shape[0]
    cdef Py_ssize_t j, g, f
    cdef int64_t i
    cdef int p
    cdef double e, a, s, share, extra
    cdef bint has_shift = entry_shift.shape[0] > 0
    cdef bint has_skill = skill_lever.shape[0] > 0
    cdef bint has_attitude = attitude_lever.shape[0] > 0
    cdef bint has_exposure = exposure_lever.shape[0] > 0
    cdef bint resisters = resist_draw.shape[0] > 0
    for name, got in (("entry_draw", entry_draw.shape[0]), ("attitude_draw", attitude_draw.shape[0]),
                      ("skill_draw", skill_draw.shape[0]), ("retire_draw", retire_draw.shape[0])):
        check_length(name, got, k)
    if resisters:
        check_length("resist_draw", resist_draw.shape[0], k)
    if exposure_draw.shape[0] != n_exposed or (n_exposed and exposure_draw.shape[1] != k):
        raise ValueError(f"exposure_draw must have shape ({n_exposed}, {k})")
    check_length("exposure_family", exposure_family.shape[0], n_exposed)
    with nogil:
        for j in range(k):
            i = rows[j]
            p = profession[i]
            e = entry_age[p]
            if has_shift:
                e = e + entry_shift[p]
            e = e + entry_draw[j]
            a = attitude_draw[j]
            s = skill_draw[j] + skill_age_slope * (e - 45.0) + entrant_skill_shift
            if has_skill:
                s = s + skill_lever[p]
            if has_attitude:
                a = a + attitude_lever[p]
            birth[i] = <float>(t - e)
            retire_age[i] = <float>(retire_low[p] + (retire_high[p] - retire_low[p]) * retire_draw[j])
            a = clip01(a)
            if attitude_age_slope != 0.0:
                a = clip01(a + attitude_age_slope * (e - 45.0))
            attitude[i] = <float>clip01(a)
            skill[i] = <float>clip01(s)
            skill0[i] = skill[i]
            for f in range(nf):
                state[i, f] = 0
                trained[i, f] = 0
                support[i, f] = 0
            resist[i] = 0
            extra = exposure_lever[p] if has_exposure else 0.0
            for g in range(n_exposed):
                share = exposure_share[g]
                if has_exposure:
                    share = share + extra
                if exposure_draw[g, j] < clip01(share):
                    f = exposure_family[g]
                    trained[i, f] = 1
                    if deployed[establishment[i], f] == 1:
                        state[i, f] = 1
            if resisters:
                share = resist_share[p] * (1.0 + resist_age_slope * (e - 45.0) / 10.0)
                resist[i] = resist_draw[j] < clip01(share)


def deployed_counts(const uint8_t[:, ::1] deployed, const uint8_t[::1] type, int64_t[:, ::1] out):
    """OUT ``out`` (T, F): the establishments of each type that have deployed each family
    (``rules.deployment.deployed_by_type``); ``out`` is zeroed first."""
    cdef Py_ssize_t n = deployed.shape[0]
    cdef Py_ssize_t nf = deployed.shape[1]
    cdef Py_ssize_t e, f
    check_length("type", type.shape[0], n)
    if out.shape[1] != nf:
        raise ValueError(f"out has {out.shape[1]} families, deployed {nf}")
    with nogil:
        out[:, :] = 0
    for e in range(n):
        if type[e] >= out.shape[0]:
            raise ValueError(f"establishment {e} has type {type[e]}, past {out.shape[0]} types")
    with nogil:
        for e in range(n):
            for f in range(nf):
                if deployed[e, f] != 0:
                    out[type[e], f] += 1


def deploy(
    uint8_t[:, ::1] deployed, const uint8_t[::1] type, const double[:, ::1] draw,
    const double[:, ::1] prob,
):
    """``rules.deployment.deployment_step`` after its draws, without bought projects: an
    establishment that lacks family ``f`` deploys it if ``draw[e, f] < prob[type[e], f]``
    (INOUT ``deployed``). Returns how many deployed."""
    cdef Py_ssize_t n = deployed.shape[0]
    cdef Py_ssize_t nf = deployed.shape[1]
    cdef Py_ssize_t e, f
    cdef int64_t count = 0
    check_length("type", type.shape[0], n)
    if (draw.shape[0], draw.shape[1]) != (n, nf) or prob.shape[1] != nf:
        raise ValueError("draw must have deployed's shape, prob its families")
    for e in range(n):
        if type[e] >= prob.shape[0]:
            raise ValueError(f"establishment {e} has type {type[e]}, past {prob.shape[0]} types")
    with nogil:
        for e in range(n):
            for f in range(nf):
                if deployed[e, f] == 0 and draw[e, f] < prob[type[e], f]:
                    deployed[e, f] = 1
                    count += 1
    return count


def deployment_record(
    const uint8_t[:, ::1] deployed,
    const uint8_t[::1] type,
    const int32_t[::1] start,
    const uint8_t[:, ::1] state,
    int32_t[:, ::1] deployed_month,
    int32_t[:, ::1] half_month,
    int64_t[:, ::1] counts,
    int month,
):
    """``outputs.deployment.DeploymentLog.record``: INOUT ``deployed_month`` and ``half_month``
    (set to ``month`` where first reached), OUT ``counts`` (T, F), the month's deployed
    establishments by type (zeroed first). An establishment's users are counted only when one
    of its deployed families has not reached half use yet."""
    cdef Py_ssize_t n = deployed.shape[0]
    cdef Py_ssize_t nf = deployed.shape[1]
    cdef Py_ssize_t e, f, i, size
    cdef bint pending
    cdef int64_t users[MAX_FAMILIES]
    check_families(nf)
    check_length("type", type.shape[0], n)
    check_length("start", start.shape[0], n + 1)
    for name, view_rows, view_cols in (("deployed_month", deployed_month.shape[0], deployed_month.shape[1]),
                                       ("half_month", half_month.shape[0], half_month.shape[1])):
        if (view_rows, view_cols) != (n, nf):
            raise ValueError(f"{name} must have deployed's shape {(n, nf)}")
    if counts.shape[1] != nf or state.shape[1] != nf:
        raise ValueError("counts and state must have deployed's families")
    if n and start[n] > state.shape[0]:
        raise ValueError(f"start ends at {start[n]}, past {state.shape[0]} professionals")
    for e in range(n):
        if type[e] >= counts.shape[0]:
            raise ValueError(f"establishment {e} has type {type[e]}, past {counts.shape[0]} types")
    with nogil:
        counts[:, :] = 0
        for e in range(n):
            pending = False
            for f in range(nf):
                if deployed[e, f] != 0:
                    counts[type[e], f] += 1
                    if deployed_month[e, f] < 0:
                        deployed_month[e, f] = month
                    if half_month[e, f] < 0:
                        pending = True
            size = start[e + 1] - start[e]
            if not pending or size <= 0:
                continue
            for f in range(nf):
                users[f] = 0
            for i in range(start[e], start[e + 1]):
                for f in range(nf):
                    users[f] += state[i, f] >= 1
            for f in range(nf):
                if deployed[e, f] != 0 and half_month[e, f] < 0 and 2 * users[f] >= size:
                    half_month[e, f] = month


def mentoring_load(
    const uint8_t[:, ::1] state, const uint8_t[::1] profession, const int64_t[::1] mentee,
    const int64_t[::1] mentor, const int64_t[::1] family, int64_t[::1] out,
):
    """``rules.mentoring.mentoring_load``: OUT ``out`` (P,), the pairings whose mentee has not
    mastered the pair's family yet, counted once for the mentee's profession and once for the
    mentor's (zeroed first)."""
    cdef Py_ssize_t k = mentee.shape[0]
    cdef Py_ssize_t n = state.shape[0]
    cdef Py_ssize_t j
    cdef int64_t i, o, f
    check_length("mentor", mentor.shape[0], k)
    check_length("family", family.shape[0], k)
    check_length("profession", profession.shape[0], n)
    for j in range(k):
        i, o, f = mentee[j], mentor[j], family[j]
        if not (0 <= i < n and 0 <= o < n and 0 <= f < state.shape[1]):
            raise IndexError(f"pairing {j} ({i}, {o}, family {f}) is out of range")
        if profession[i] >= out.shape[0] or profession[o] >= out.shape[0]:
            raise ValueError(f"pairing {j} has a profession past {out.shape[0]}")
    with nogil:
        out[:] = 0
        for j in range(k):
            if state[mentee[j], family[j]] < 2:
                out[profession[mentee[j]]] += 1
                out[profession[mentor[j]]] += 1


cdef enum:
    MENTORED_BIT = 1  # rules.states.MENTORED


cdef struct Keyed:
    double key
    int64_t row


cdef int by_key_then_row(const void* a, const void* b) noexcept nogil:
    """Order of ``np.lexsort``'s stable sort by key within an establishment: key, then row."""
    cdef const Keyed* x = <const Keyed*>a
    cdef const Keyed* y = <const Keyed*>b
    if x.key < y.key:
        return -1
    if x.key > y.key:
        return 1
    return (x.row > y.row) - (x.row < y.row)


def pair_mentors(
    const int32_t[::1] start,
    const uint8_t[:, ::1] deployed,
    const uint8_t[:, ::1] state,
    const float[::1] birth,
    const double[:, :, ::1] draws,
    double t,
    double mentor_max_age,
    double mentee_min_age,
    double take,
    double cap,
    uint8_t[:, ::1] support,
    int64_t[::1] mentee,
    int64_t[::1] mentor,
    int64_t[::1] family,
):
    """``rules.mentoring.pair_mentors`` after its draws (``draws[f, 0]``: the volunteers'
    uniforms of family ``f``, ``draws[f, 1]``: the mentees' order keys), with ``take`` and
    ``cap`` positive: clears every MENTORED bit, then pairs, family by family and establishment
    by establishment (rows are in establishment order), the first ``floor(volunteers × cap)``
    mentees by key with volunteer ``floor(rank / cap)``. OUT ``mentee``, ``mentor``, ``family``
    (room for F × n pairs); returns the number of pairs."""
    cdef Py_ssize_t n = state.shape[0]
    cdef Py_ssize_t nf = state.shape[1]
    cdef Py_ssize_t n_est = deployed.shape[0]
    cdef Py_ssize_t e, i, f, r, k = 0, first, n_mentors, n_mentees, slots, pick
    cdef double age
    cdef Keyed* keyed
    cdef int64_t* mentors
    check_length("birth", birth.shape[0], n)
    check_length("start", start.shape[0], n_est + 1)
    if (draws.shape[0], draws.shape[1], draws.shape[2]) != (nf, 2, n):
        raise ValueError(f"draws must have shape ({nf}, 2, {n})")
    if (support.shape[0], support.shape[1]) != (n, nf) or deployed.shape[1] != nf:
        raise ValueError("support and deployed must have the states' families")
    if mentee.shape[0] < nf * n or mentor.shape[0] < nf * n or family.shape[0] < nf * n:
        raise ValueError(f"the outputs need room for {nf * n} pairs")
    if n_est and (start[0] != 0 or start[n_est] != n):
        raise ValueError(f"start must run from 0 to {n}")
    if not (take > 0.0 and cap > 0.0):
        raise ValueError("take and cap must be positive (the rule pairs no one otherwise)")
    keyed = <Keyed*>malloc(max(n, 1) * sizeof(Keyed))
    mentors = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    if keyed == NULL or mentors == NULL:
        free(keyed)
        free(mentors)
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                for f in range(nf):
                    support[i, f] = support[i, f] & (0xFF ^ MENTORED_BIT)
            for f in range(nf):
                # the volunteers of every establishment, in row order
                n_mentors = 0
                for i in range(n):
                    age = t - <double>birth[i]
                    if age < mentor_max_age and state[i, f] == 2 and draws[f, 0, i] < take:
                        mentors[n_mentors] = i
                        n_mentors += 1
                first = 0
                for e in range(n_est):
                    slots = 0
                    pick = first
                    while pick < n_mentors and mentors[pick] < start[e + 1]:
                        pick += 1
                    slots = <Py_ssize_t>floor(<double>(pick - first) * cap)
                    if slots > 0 and deployed[e, f] == 1:
                        n_mentees = 0
                        for i in range(start[e], start[e + 1]):
                            age = t - <double>birth[i]
                            if age >= mentee_min_age and state[i, f] < 2:
                                keyed[n_mentees].key = draws[f, 1, i]
                                keyed[n_mentees].row = i
                                n_mentees += 1
                        if n_mentees > 1:
                            qsort(keyed, n_mentees, sizeof(Keyed), by_key_then_row)
                        for r in range(min(slots, n_mentees)):
                            i = <Py_ssize_t>floor(<double>r / cap)
                            if first + i >= n_mentors:
                                with gil:
                                    raise IndexError("a mentee's volunteer is past the last one")
                            support[keyed[r].row, f] = support[keyed[r].row, f] | MENTORED_BIT
                            mentee[k] = keyed[r].row
                            mentor[k] = mentors[first + i]
                            family[k] = f
                            k += 1
                    first = pick
    finally:
        free(keyed)
        free(mentors)
    return k


def refresh(
    const int64_t[::1] rows,
    const uint8_t[::1] profession,
    const int32_t[::1] establishment,
    const uint8_t[::1] est_type,
    const float[::1] birth,
    const float[::1] attitude,
    const float[::1] access,
    double year,
    double attitude_effect,
    double age_effect,
    double training_rate,
    double propensity_floor,
    const double[::1] lever_training,
    const double[::1] age_edges,
    const uint8_t[:, ::1] effect_professions,
    const uint8_t[:, ::1] effect_types,
    const uint8_t[:, ::1] effect_bands,
    const double[::1] effect_adoption,
    const double[::1] effect_training,
    const double[::1] effect_reach,
    const uint8_t[::1] effect_bought,
    float[::1] propensity,
    float[::1] train_prob,
    float[::1] train_free,
):
    """``rules.propensity.refresh`` for the professionals ``rows``: ψ and the monthly training
    probability (and, when ``train_free`` is not empty, the probability without the courses
    bought), with the same operations in the same order. ``year``: ``floor(t)``. The K policy
    effects are rows of the ``effect_*`` arrays, a mask of ones where the effect's mask is None
    (``effect_bands`` is read only when K > 0). OUT: the rows of the last three arrays."""
    cdef Py_ssize_t k = rows.shape[0]
    cdef Py_ssize_t n = profession.shape[0]
    cdef Py_ssize_t n_eff = effect_adoption.shape[0]
    cdef Py_ssize_t n_edges = age_edges.shape[0]
    cdef Py_ssize_t j, g, b
    cdef int64_t i
    cdef int p, t
    cdef double age, psi, acc, mult, acc_free, mult_free, prob
    cdef bint has_free = train_free.shape[0] > 0
    for name, got in (("establishment", establishment.shape[0]), ("birth", birth.shape[0]),
                      ("attitude", attitude.shape[0]), ("access", access.shape[0]),
                      ("propensity", propensity.shape[0]), ("train_prob", train_prob.shape[0])):
        check_length(name, got, n)
    if has_free:
        check_length("train_free", train_free.shape[0], n)
    for name, got in (("effect_training", effect_training.shape[0]),
                      ("effect_reach", effect_reach.shape[0]),
                      ("effect_bought", effect_bought.shape[0]),
                      ("effect_professions", effect_professions.shape[0]),
                      ("effect_types", effect_types.shape[0]),
                      ("effect_bands", effect_bands.shape[0])):
        check_length(name, got, n_eff)
    if n_eff and effect_bands.shape[1] != n_edges + 1:
        raise ValueError(f"effect_bands has {effect_bands.shape[1]} bands, expected {n_edges + 1}")
    for j in range(k):
        i = rows[j]
        if not 0 <= i < n:
            raise IndexError(f"row {i} is past {n} professionals")
        if profession[i] >= lever_training.shape[0] or (
            n_eff and profession[i] >= effect_professions.shape[1]
        ):
            raise ValueError(f"professional {i} has profession {profession[i]}, past the levers'")
        if not 0 <= establishment[i] < est_type.shape[0]:
            raise IndexError(f"professional {i} is in establishment {establishment[i]}, past")
        if n_eff and est_type[establishment[i]] >= effect_types.shape[1]:
            raise ValueError(f"an establishment type is past the effects' {effect_types.shape[1]}")
    with nogil:
        for j in range(k):
            i = rows[j]
            p = profession[i]
            age = year - <double>birth[i]
            psi = (1.0 + attitude_effect * (<double>attitude[i] - 0.5)) * (
                1.0 + age_effect * ((age - 45.0) / 10.0)
            )
            acc = <double>access[i]
            mult = 1.0
            acc_free = acc
            mult_free = 1.0
            if n_eff:
                b = 0  # np.searchsorted(edges, age, side="right")
                while b < n_edges and age_edges[b] <= age:
                    b += 1
                t = est_type[establishment[i]]
                for g in range(n_eff):
                    if effect_professions[g, p] and effect_types[g, t] and effect_bands[g, b]:
                        psi = psi * effect_adoption[g]
                        acc = acc + effect_reach[g] * (1.0 - acc)
                        mult = mult * effect_training[g]
                        if not effect_bought[g]:
                            acc_free = acc_free + effect_reach[g] * (1.0 - acc_free)
                            mult_free = mult_free * effect_training[g]
            propensity[i] = <float>(psi if not psi < propensity_floor else propensity_floor)
            prob = training_rate * acc * lever_training[p] * mult
            train_prob[i] = <float>clip01(prob)
            if has_free:
                prob = training_rate * acc_free * lever_training[p] * mult_free
                train_free[i] = <float>clip01(prob)


# ---------------------------------------------------------------------------------------------
# Test shims: the kernel's own code, visible from Python
# ---------------------------------------------------------------------------------------------
def peer_counts(Network net, const uint8_t[:, ::1] state, int32_t[:, ::1] use):
    """The kernel's tie counts for every professional, OUT in ``use`` (N, F) (for tests
    against ``rules.tie_counts``)."""
    cdef Py_ssize_t n = state.shape[0]
    cdef int nf = <int>state.shape[1]
    cdef Py_ssize_t i
    cdef int f
    cdef int u[MAX_FAMILIES]
    cdef Lanes lanes
    check_families(nf)
    if net.complete:
        raise ValueError("peer_counts reads stored ties; the complete network has none")
    check_length("the network", net.n, n)
    if (use.shape[0], use.shape[1]) != (n, nf):
        raise ValueError(f"use must have the shape of state, {(n, nf)}")
    lanes = lanes_for(nf)
    cdef const int32_t[::1] indptr = net.indptr
    cdef const int32_t* indices_p = &net.indices[0] if net.indices.shape[0] > 0 else NULL
    cdef uint8_t[::1] mask = np.empty(n + 1, dtype=np.uint8)
    with nogil:
        pack_states(state, nf, &mask[0], 0, n)
        for i in range(n):
            count_ties(indices_p, indptr[i], indptr[i + 1], &mask[0], nf, &lanes, u)
            for f in range(nf):
                use[i, f] = u[f]


def uniforms(uint64_t key, Py_ssize_t n, int slots, double[:, ::1] out):
    """The month's uniforms as the kernel sees them, OUT in ``out`` (n, slots) (for tests
    against ``rules.stream.uniforms``; ``slots`` is ``rules.stream.slots(F)``)."""
    cdef Py_ssize_t i
    cdef int s
    if slots < 1 or out.shape[0] < n or out.shape[1] != slots:
        raise ValueError(f"out must have shape ({n}, {slots})")
    with nogil:
        for i in range(n):
            for s in range(slots):
                out[i, s] = uniform(key, <uint64_t>i * slots + s + 1)


def hazard_probability(const double[::1] x, double[::1] out):
    """``one_minus_exp_neg`` as the kernel computes it (for tests against ``rules.stream``)."""
    cdef Py_ssize_t i
    if out.shape[0] < x.shape[0]:
        raise ValueError("out is shorter than x")
    with nogil:
        for i in range(x.shape[0]):
            out[i] = one_minus_exp_neg(x[i])
