/* cache: Redis-backed query cache (see cache.h). */
