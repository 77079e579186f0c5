/* guard: IP ban, rate limits, session and admin guards (see guard.h). */
