#ifndef OCCUPANT_CZLIB_SHIM_H
#define OCCUPANT_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 is a macro: a gzip stream (window bits 15 + 16 for the gzip header and trailer). */
static inline int occ_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
