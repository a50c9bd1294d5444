#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Test support only: this target defines malloc, calloc, realloc, posix_memalign and aligned_alloc (forwarding to
/// glibc's), so linking it into a test binary lets a test count the allocations its own thread makes. Never link it
/// into the `occupant` executable.

/// Starts counting the calling thread's allocations from zero.
void occupant_allocations_start(void);

/// Stops counting on the calling thread and returns the number of allocations since `occupant_allocations_start`.
uint64_t occupant_allocations_stop(void);

#endif
