# cython: language_level=3
"""Declarations of the compiled step (``_kernels.pyx``): its inputs, grouped as the model groups
them, and the small helpers that the step, its lazy bound and the test shims share.

The inputs follow scikit-learn's style (``sklearn/tree/_criterion.pxd``): typed memoryview
fields in small ``cdef class`` objects, read-only ones ``const``, each marked IN, INOUT or OUT.
They are memoryviews rather than raw pointers so that a build with ``ADOPTION_ABM_DEBUG=1``
checks every index the step takes from the data (an establishment, a profession, a type) against
the array it indexes. The month's scalar parameters are one struct, :c:type:`MonthRates`.

``F``, the number of technology families, is the width of the state arrays (1 to
``MAX_FAMILIES``); every array with a family axis must agree with it.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

cdef enum:
    MAX_FAMILIES = 4  # scenario.schema.MAX_FAMILIES: 2 bits a family in the packed state byte
    N_STATES = 3  # rules.states: not using, using, mastered
    SHARE_DEG = 40  # shares k / d for degrees d below this come from a table
    AHEAD = 16  # prefetch the ties of the professional this many rows ahead
    BLOCK = 16384  # rows a block of the threads' dynamic schedule (at least one a thread)


cdef struct MonthRates:
    # The month's scalar parameters (IN): the scalar fields of ``rules.MonthParams``, same
    # names, and the month's key of the random stream.
    double skill_effect  # s: adoption hazard x (1 + s (skill - 1/2))
    double skill_mastery_effect  # s_m: mastery hazard x (1 + s_m (skill - 1/2))
    double train_adopt_boost  # b: adoption hazard x (1 + b) once trained on the family
    double train_master_boost  # b_m: mastery hazard x (1 + b_m) once trained
    double train_skill_gain  # g: a course moves skill a share g towards 1
    double mentor_adopt_boost  # mentee's adoption hazard x (1 + boost)
    double mentor_master_boost  # mentee's mastery hazard x (1 + boost)
    double relearn_boost  # legacy user's mastery hazard x (1 + boost)
    double resist_threshold  # share of ties using from which resisters adopt as others
    double resist_factor  # resister's adoption hazard x factor below the threshold
    double quit_trained_keep  # discontinuance x this once trained
    double quit_mentored_keep  # discontinuance x this while mentored
    double risk_gain  # skill growth that removes the downgrading shortfall (tallies)
    double t_end  # decimal year at the end of the month (age bands of the tallies)
    uint64_t key  # the month's key: uniform (i, s) = uniform(key, slots * i + s + 1)


cdef struct Lanes:
    # Packed tie counters for F families: F lanes of 64 // F bits in one 64-bit word.
    int bits  # lane width, 64 // F
    uint64_t mask  # the low ``bits`` bits
    int64_t limit  # degrees below this fit in a lane; larger ones take plain counters
    const uint64_t* use  # use[m]: bits 0..F-1 of state byte m spread into the F lanes
    const uint64_t* master  # master[m]: bits F..2F-1 of state byte m spread into the F lanes


cdef class Network:
    # The ties (IN), CSR: professional i's ties are indices[indptr[i]:indptr[i + 1]].
    cdef readonly Py_ssize_t n  # professionals
    cdef readonly bint complete  # everyone is everyone's tie (Bass limit; no arrays read)
    cdef const int32_t[::1] indptr  # (n + 1,)
    cdef const int32_t[::1] indices  # (nnz,)


cdef class Professionals:
    # The professionals' columns (``model.state.Population``) and the step's output.
    cdef readonly Py_ssize_t n  # professionals
    cdef readonly int n_families  # F
    cdef const uint8_t[::1] profession  # IN (n,)
    cdef const int32_t[::1] establishment  # IN (n,)
    cdef const float[::1] birth  # IN (n,) decimal year of birth
    cdef const float[::1] propensity  # IN (n,) ψ, attitude and age multiplier
    cdef const float[::1] train_prob  # IN (n,) monthly training probability
    cdef const float[::1] skill0  # IN (n,) skill on entry
    cdef const uint8_t[::1] resist  # IN (n,) 1: a resister
    cdef const uint8_t[:, ::1] support  # IN (n, F) bits: 1 mentored, 2 legacy (rules.states)
    cdef const uint8_t[:, ::1] state  # IN (n, F) last month's states
    cdef float[::1] skill  # INOUT (n,) raised by training (own row only)
    cdef uint8_t[:, ::1] trained  # INOUT (n, F) set by training (own row only)
    cdef uint8_t[:, ::1] new_state  # OUT (n, F) this month's states


cdef class Establishments:
    # The establishments' columns (``model.state.Establishments``), IN.
    cdef readonly Py_ssize_t n  # establishments
    cdef const uint8_t[:, ::1] deployed  # (n, F) 1 once the family is deployed
    cdef const uint8_t[::1] type  # (n,) establishment type


cdef class Month:
    # The month's parameters (IN), from ``rules.MonthParams``.
    cdef readonly int n_families  # F
    cdef readonly Py_ssize_t n_professions  # P
    cdef MonthRates rates  # the scalars and the key
    cdef const double[::1] p  # (F,) spontaneous adoption
    cdef const double[::1] q  # (F,) peer adoption per unit share of ties using
    cdef const double[:, ::1] adopt_mult  # (P, F) adoption multiplier (per month)
    cdef const double[:, ::1] master_mult  # (P, F) monthly mastery hazard
    cdef const double[:, ::1] quit_mult  # (P, F) monthly discontinuance hazard
    cdef const double[::1] risk_keep  # (P,) share of the downgrading pressure left
    cdef const double[::1] age_edges  # (B - 1,) upper edges of the age bands (tallies)


# ---------------------------------------------------------------------------------------------
# Helpers (bodies in _kernels.pyx). The hazards are written once: the decisions and the lazy
# bound (the hazards at peer shares 1) both call them, with the reference's operations in the
# reference's order (rules.professionals), so that results are bit-identical.
# ---------------------------------------------------------------------------------------------
cdef double adoption_hazard(
    double rate, double base, double adopt_mult, bint trained, double adopt_boost,
    bint mentored, double mentor_boost,
) noexcept nogil
cdef double mastery_hazard(
    double master_mult, double sm, bint trained, double master_boost, bint mentored,
    double mentor_boost, bint legacy, double relearn,
) noexcept nogil
cdef double uniform(uint64_t key, uint64_t counter) noexcept nogil
cdef double one_minus_exp_neg(double x) noexcept nogil
cdef bint happens(double u, double x) noexcept nogil
cdef Lanes lanes_for(int n_families) noexcept nogil
