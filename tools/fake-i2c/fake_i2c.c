/*
 * fake_i2c.c - an LD_PRELOAD library that fakes one Linux I2C bus (/dev/i2c-N)
 * so that real I2C code can be tested on a machine without /dev/i2c-* or i2c-stub.
 *
 * Build:
 *     cc -shared -fPIC -O2 -o libfake_i2c.so fake_i2c.c -ldl
 *
 * Use:
 *     OCCUPANT_FAKE_I2C_MAP=/tmp/map.txt LD_PRELOAD=/path/to/libfake_i2c.so ./program
 *
 * Environment (read once, on the first intercepted call):
 *     OCCUPANT_FAKE_I2C_BUS  bus number to fake (default "1"): open("/dev/i2c-1").
 *     OCCUPANT_FAKE_I2C_MAP  path of the register map (below). Unset or empty: the
 *                            bus exists but has no devices (every address ENXIO).
 *     OCCUPANT_FAKE_I2C_LOG  optional path; one line is appended per transaction.
 *
 * Register map: one device transaction per line, three whitespace-separated fields
 *
 *     ADDRESS  WRITE  READ        # comment ('#' to end of line; blank lines ignored)
 *
 *     ADDRESS  7-bit address in hex with 0x prefix: 0x00 .. 0x7f
 *     WRITE    the bytes the master writes first, as hex digit pairs without spaces
 *              or prefix (e.g. 2400), or '-' for "no write" (plain read).
 *     READ     the bytes the device then returns (e.g. BEEF92), '-' for none, or a
 *              failure word:  NACK -> EREMOTEIO,  EIO -> EIO,  TIMEOUT -> ETIMEDOUT.
 *
 *     0x44 2400 BEEF92BEEF92   write 24 00, then a read returns BE EF 92 BE EF 92
 *     0x20 -    FE             a read with no (matching) preceding write returns FE
 *     0x48 00   1234           write 00 + read (combined or separate) returns 12 34
 *     0x50 -    NACK           the chip at 0x50 NACKs everything not matched exactly
 *
 * At most 256 lines, 64 bytes per WRITE/READ field, 64 KiB per file; a line with the
 * same ADDRESS and WRITE as an earlier one is an error. The file is re-read whenever
 * its mtime, size or inode changes (checked at every transaction), so a test may edit
 * it while the program runs; replace it atomically (write a temp file, rename) to be
 * safe. An invalid or unreadable map is reported on stderr and then every transaction
 * fails with EIO until the file is fixed.
 *
 * Device model. Each address keeps a "key": the bytes of its last non-empty write.
 *   - Lookup(key): the line for that address whose WRITE equals key exactly, else its
 *     '-' line, else nothing.
 *   - Any transfer to an address with no line at all fails with ENXIO (absent chip).
 *   - A write of bytes W: Lookup(W); if that is a failure line the write fails with its
 *     errno (the key is unchanged), otherwise it succeeds, even with no match, and W
 *     becomes the key. A zero-length write (SMBus quick) leaves the key unchanged.
 *   - A read of n bytes: Lookup(key); a failure line fails with its errno; no line
 *     fails with EIO; n greater than the READ length fails with EIO; otherwise the
 *     first n bytes of READ are returned. A zero-length read only checks presence
 *     (and failure lines).
 *   - write+read (I2C_RDWR with a repeated start, SMBus read byte/word data) is a write
 *     followed by a read, so the read uses the written bytes as its key.
 *
 * Intercepted: open, open64, openat, openat64 (and their _FORTIFY_SOURCE __*_2 forms),
 * read, __read_chk, write, close and ioctl. Only the exact path "/dev/i2c-<bus>" is
 * faked; it is backed by a real descriptor on /dev/null. Every other path and every
 * other descriptor goes to the real libc function. Not intercepted: fopen, dup*,
 * readv/writev, pread/pwrite, relative paths (openat(dev_fd, "i2c-1")).
 *
 * ioctls on a fake descriptor (as the kernel's i2c-dev does them):
 *   I2C_SLAVE, I2C_SLAVE_FORCE  set the address for read()/write()/I2C_SMBUS
 *                               (> 0x7f without I2C_TENBIT, or > 0x3ff: EINVAL)
 *   I2C_FUNCS                   I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL
 *   I2C_RDWR                    1..42 messages; a write followed by a read of the same
 *                               address is one write+read, anything else runs message
 *                               by message; returns the number of messages.
 *                               I2C_M_RECV_LEN: EOPNOTSUPP.
 *   I2C_SMBUS                   quick, byte, byte data, word data (little-endian: the
 *                               first byte on the wire is the low byte), process call,
 *                               block data, I2C block data, block process call; each
 *                               mapped to the I2C messages the kernel's SMBus emulation
 *                               would send (block reads: READ starts with the count).
 *   I2C_TENBIT, I2C_PEC, I2C_RETRIES, I2C_TIMEOUT   accepted, no effect.
 *   anything else               ENOTTY.
 *
 * Log (OCCUPANT_FAKE_I2C_LOG), one line per bus transaction:
 *     KIND ADDRESS WRITTEN READ RESULT
 *   KIND is read, write, rdwr or smbus; WRITTEN/READ are hex or '-'; RESULT is OK or the
 *   errno name (ENXIO, EREMOTEIO, EIO, ETIMEDOUT, EPROTO). E.g.
 *     rdwr 0x44 2400 BEEF92BEEF92 OK
 *     smbus 0x48 02 3412 OK
 *     write 0x50 00 - EREMOTEIO
 *
 * All state is behind one mutex; nothing is allocated per transaction.
 */

/* We define open/read/... ourselves, so keep glibc from turning them into
 * fortified inline wrappers or 64-bit redirects. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/i2c-dev.h>
#include <linux/i2c.h>

/* ------------------------------------------------------------------------- */
/* Limits                                                                    */

#define MAX_LINES      256        /* map lines (transactions)                  */
#define MAX_BYTES      64         /* bytes per WRITE or READ field             */
#define MAX_MAP_FILE   65536      /* map file size                             */
#define MAX_LINE_CHARS 1024       /* characters per map line                   */
#define MAX_FAKE_FDS   64         /* simultaneously open fake descriptors      */
#define NUM_ADDRS      128        /* 7-bit addresses                           */
#define KERNEL_MAX_XFER 8192      /* i2c-dev's limit for read()/write()/msg    */
#define LOG_HEX_BYTES  128        /* bytes per field written to the log        */

#define FAKE_FUNCS (I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL)

/* ------------------------------------------------------------------------- */
/* Real libc functions                                                       */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*close_fn)(int);
typedef int (*ioctl_fn)(int, unsigned long, ...);

static struct {
    open_fn open, open64;
    openat_fn openat, openat64;
    open2_fn open_2, open64_2;
    openat2_fn openat_2, openat64_2;
    read_fn read;
    read_chk_fn read_chk;
    write_fn write;
    close_fn close;
    ioctl_fn ioctl;
} real;

/* Configuration snapshot taken from the environment on first use. */
static struct {
    char bus_path[64];           /* "/dev/i2c-1"                                */
    char map_path[4096];         /* "" when unset                               */
    char log_path[4096];         /* "" when unset                               */
} cfg;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Looks up the next definition of `name` (libc's) and stores it in *slot.
 * memcpy avoids the object-pointer to function-pointer conversion warning. */
static void resolve(void *slot, size_t size, const char *name, bool required)
{
    void *sym = dlsym(RTLD_NEXT, name);
    if (sym == NULL && required) {
        fprintf(stderr, "fake_i2c: cannot find libc symbol %s\n", name);
        abort();
    }
    memcpy(slot, &sym, size);
}

#define RESOLVE(field, name, required) resolve(&real.field, sizeof real.field, name, required)

static void copy_env(char *dst, size_t size, const char *name, const char *fallback)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        v = fallback;
    if (strlen(v) >= size) {
        fprintf(stderr, "fake_i2c: %s is too long, ignored\n", name);
        v = "";
    }
    strcpy(dst, v);
}

static void init(void)
{
    RESOLVE(open, "open", true);
    RESOLVE(open64, "open64", false);
    RESOLVE(openat, "openat", true);
    RESOLVE(openat64, "openat64", false);
    RESOLVE(open_2, "__open_2", false);
    RESOLVE(open64_2, "__open64_2", false);
    RESOLVE(openat_2, "__openat_2", false);
    RESOLVE(openat64_2, "__openat64_2", false);
    RESOLVE(read, "read", true);
    RESOLVE(read_chk, "__read_chk", false);
    RESOLVE(write, "write", true);
    RESOLVE(close, "close", true);
    RESOLVE(ioctl, "ioctl", true);

    char bus[32];
    copy_env(bus, sizeof bus, "OCCUPANT_FAKE_I2C_BUS", "1");
    bool digits = bus[0] != '\0';
    for (const char *p = bus; *p != '\0'; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (!digits) {
        fprintf(stderr, "fake_i2c: OCCUPANT_FAKE_I2C_BUS=\"%s\" is not a bus number; using 1\n", bus);
        strcpy(bus, "1");
    }
    snprintf(cfg.bus_path, sizeof cfg.bus_path, "/dev/i2c-%s", bus);
    copy_env(cfg.map_path, sizeof cfg.map_path, "OCCUPANT_FAKE_I2C_MAP", "");
    copy_env(cfg.log_path, sizeof cfg.log_path, "OCCUPANT_FAKE_I2C_LOG", "");
}

static inline void ensure_init(void)
{
    pthread_once(&init_once, init);
}

/* ------------------------------------------------------------------------- */
/* State                                                                     */

struct map_line {
    int source_line;             /* line number in the file, for messages      */
    uint8_t addr;
    uint8_t wlen, rlen;
    int err;                     /* 0: READ is data; else the errno to fail with */
    uint8_t w[MAX_BYTES];
    uint8_t r[MAX_BYTES];
};

struct map {
    int count;
    bool present[NUM_ADDRS];     /* address has at least one line              */
    struct map_line lines[MAX_LINES];
};

enum map_status { MAP_OK, MAP_INVALID };

/* The key of an address: the bytes of its last non-empty write. A write longer than
 * MAX_BYTES can never equal a WRITE field, so it is kept only as "overlong". */
struct key {
    bool overlong;
    uint8_t len;
    uint8_t bytes[MAX_BYTES];
};

struct fake_fd {
    uint16_t addr;               /* from I2C_SLAVE; 0 after open, like i2c-dev  */
    bool tenbit;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything below is guarded by `lock`, except the atomics. */
static struct map current_map;
static struct map parse_buf;     /* parse target, copied to current_map on success */
static char file_buf[MAX_MAP_FILE + 1];
static enum map_status map_status = MAP_OK;
static bool map_loaded;          /* file identity below is valid                */
static dev_t map_dev;
static ino_t map_ino;
static off_t map_size;
static struct timespec map_mtime;
static int map_stat_errno;       /* last reported stat() failure (no repeats)   */
static struct key keys[NUM_ADDRS];

/* Fake descriptors. slot_fd holds fd+1 (0 = free) and is atomic so that read()/
 * write()/close() on unrelated descriptors can be rejected without the lock. */
static atomic_int slot_fd[MAX_FAKE_FDS];
static atomic_int fake_count;
static struct fake_fd slots[MAX_FAKE_FDS];

/* Returns true if fd might be fake (confirm with find_slot under the lock). */
static inline bool maybe_fake(int fd)
{
    if (fd < 0 || atomic_load(&fake_count) == 0)
        return false;
    for (int i = 0; i < MAX_FAKE_FDS; i++)
        if (atomic_load(&slot_fd[i]) == fd + 1)
            return true;
    return false;
}

static int find_slot(int fd)
{
    for (int i = 0; i < MAX_FAKE_FDS; i++)
        if (atomic_load(&slot_fd[i]) == fd + 1)
            return i;
    return -1;
}

/* Forgets fd if it is fake. Caller holds the lock. */
static void forget_locked(int fd)
{
    int i = find_slot(fd);
    if (i >= 0) {
        atomic_store(&slot_fd[i], 0);
        atomic_fetch_sub(&fake_count, 1);
    }
}

/* A descriptor number the kernel just handed out for something else cannot still be
 * fake (it was closed behind our back, e.g. by a raw syscall): forget it. */
static void forget_if_stale(int fd)
{
    if (maybe_fake(fd)) {
        pthread_mutex_lock(&lock);
        forget_locked(fd);
        pthread_mutex_unlock(&lock);
    }
}

/* ------------------------------------------------------------------------- */
/* Register map parsing                                                      */

static void map_error(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void map_error(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (line > 0)
        fprintf(stderr, "fake_i2c: %s:%d: ", cfg.map_path, line);
    else
        fprintf(stderr, "fake_i2c: %s: ", cfg.map_path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses "2400" into bytes; "-" is zero bytes. Returns false on malformed input. */
static bool parse_hex_field(const char *tok, uint8_t *out, uint8_t *len, int line, const char *what)
{
    if (strcmp(tok, "-") == 0) {
        *len = 0;
        return true;
    }
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        if (hex_value(tok[i]) < 0) {
            map_error(line, "%s \"%s\": expected hex bytes without spaces or 0x (e.g. 2400) or '-'",
                      what, tok);
            return false;
        }
    }
    if (n % 2 != 0) {
        map_error(line, "%s \"%s\": odd number of hex digits", what, tok);
        return false;
    }
    if (n / 2 > MAX_BYTES) {
        map_error(line, "%s \"%s\": more than %d bytes", what, tok, MAX_BYTES);
        return false;
    }
    for (size_t i = 0; i < n / 2; i++)
        out[i] = (uint8_t)(hex_value(tok[2 * i]) << 4 | hex_value(tok[2 * i + 1]));
    *len = (uint8_t)(n / 2);
    return true;
}

static bool parse_address(const char *tok, uint8_t *addr, int line)
{
    if (!(tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X')) || tok[2] == '\0' || strlen(tok) > 4)
        goto bad;
    unsigned value = 0;
    for (const char *p = tok + 2; *p != '\0'; p++) {
        int h = hex_value(*p);
        if (h < 0)
            goto bad;
        value = value * 16 + (unsigned)h;
    }
    if (value >= NUM_ADDRS)
        goto bad;
    *addr = (uint8_t)value;
    return true;
bad:
    map_error(line, "address \"%s\": expected a 7-bit hex address 0x00..0x7f", tok);
    return false;
}

/* Parses one line (comment already stripped). Appends to m. Returns false on error. */
static bool parse_line(char *text, int line, struct map *m)
{
    char *save = NULL;
    char *tok[3];
    int n = 0;
    for (char *t = strtok_r(text, " \t\r\v\f", &save); t != NULL; t = strtok_r(NULL, " \t\r\v\f", &save)) {
        if (n < 3)
            tok[n] = t;
        n++;
    }
    if (n == 0)
        return true;
    if (n != 3) {
        map_error(line, "expected 3 fields ADDRESS WRITE READ, found %d", n);
        return false;
    }
    if (m->count == MAX_LINES) {
        map_error(line, "more than %d lines", MAX_LINES);
        return false;
    }

    struct map_line *l = &m->lines[m->count];
    memset(l, 0, sizeof *l);
    l->source_line = line;
    if (!parse_address(tok[0], &l->addr, line))
        return false;
    if (!parse_hex_field(tok[1], l->w, &l->wlen, line, "WRITE"))
        return false;

    if (strcasecmp(tok[2], "NACK") == 0)
        l->err = EREMOTEIO;
    else if (strcasecmp(tok[2], "EIO") == 0)
        l->err = EIO;
    else if (strcasecmp(tok[2], "TIMEOUT") == 0)
        l->err = ETIMEDOUT;
    else if (!parse_hex_field(tok[2], l->r, &l->rlen, line, "READ (or NACK, EIO, TIMEOUT)"))
        return false;

    for (int i = 0; i < m->count; i++) {
        const struct map_line *o = &m->lines[i];
        if (o->addr == l->addr && o->wlen == l->wlen && memcmp(o->w, l->w, l->wlen) == 0) {
            map_error(line, "duplicate of line %d (same ADDRESS and WRITE)", o->source_line);
            return false;
        }
    }
    m->present[l->addr] = true;
    m->count++;
    return true;
}

/* Parses file_buf[0..size) into parse_buf. */
static bool parse_map(size_t size)
{
    struct map *m = &parse_buf;
    m->count = 0;
    memset(m->present, 0, sizeof m->present);

    size_t pos = 0;
    int line = 0;
    while (pos < size) {
        line++;
        size_t end = pos;
        while (end < size && file_buf[end] != '\n')
            end++;
        size_t len = end - pos;
        if (len >= MAX_LINE_CHARS) {
            map_error(line, "line longer than %d characters", MAX_LINE_CHARS - 1);
            return false;
        }
        char text[MAX_LINE_CHARS];
        memcpy(text, file_buf + pos, len);
        text[len] = '\0';
        if (memchr(text, '\0', len) != NULL) {
            map_error(line, "NUL byte in line");
            return false;
        }
        char *hash = strchr(text, '#');
        if (hash != NULL)
            *hash = '\0';
        if (!parse_line(text, line, m))
            return false;
        pos = end + 1;
    }
    return true;
}

static void set_invalid(void)
{
    if (map_status != MAP_INVALID)
        fprintf(stderr, "fake_i2c: the register map is invalid; every I2C transaction fails with EIO "
                        "until it is fixed\n");
    map_status = MAP_INVALID;
}

/* Reads the map file into file_buf and parses it. fd is open; identity already taken. */
static void load_map(int fd)
{
    size_t size = 0;
    for (;;) {
        ssize_t n = real.read(fd, file_buf + size, sizeof file_buf - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            map_error(0, "read failed: %s", strerror(errno));
            set_invalid();
            return;
        }
        if (n == 0)
            break;
        size += (size_t)n;
        if (size > MAX_MAP_FILE) {
            map_error(0, "larger than %d bytes", MAX_MAP_FILE);
            set_invalid();
            return;
        }
    }
    if (!parse_map(size)) {
        set_invalid();
        return;
    }
    memcpy(&current_map, &parse_buf, sizeof current_map);
    if (map_status == MAP_INVALID)
        fprintf(stderr, "fake_i2c: %s: register map is valid again (%d lines)\n", cfg.map_path,
                current_map.count);
    map_status = MAP_OK;
}

/* Loads the map if it was never loaded or the file changed. Caller holds the lock. */
static void refresh_map(void)
{
    if (cfg.map_path[0] == '\0') {
        /* No map: a bus with no devices. current_map is zero-initialised. */
        map_status = MAP_OK;
        return;
    }
    struct stat st;
    if (stat(cfg.map_path, &st) != 0) {
        int e = errno;
        if (map_status != MAP_INVALID || map_stat_errno != e)
            map_error(0, "cannot open register map: %s", strerror(e));
        map_stat_errno = e;
        map_loaded = false;
        set_invalid();
        return;
    }
    map_stat_errno = 0;
    if (map_loaded && st.st_dev == map_dev && st.st_ino == map_ino && st.st_size == map_size &&
        st.st_mtim.tv_sec == map_mtime.tv_sec && st.st_mtim.tv_nsec == map_mtime.tv_nsec)
        return;

    int fd;
    do
        fd = real.open(cfg.map_path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 || fstat(fd, &st) != 0) {
        map_error(0, "cannot open register map: %s", strerror(errno));
        if (fd >= 0)
            real.close(fd);
        map_loaded = false;
        set_invalid();
        return;
    }
    /* Remember the identity before reading: a change during the read shows up
     * as a different identity at the next transaction. */
    map_loaded = true;
    map_dev = st.st_dev;
    map_ino = st.st_ino;
    map_size = st.st_size;
    map_mtime = st.st_mtim;
    load_map(fd);
    real.close(fd);
}

/* ------------------------------------------------------------------------- */
/* Transactions                                                              */

static const char *errno_name(int e)
{
    switch (e) {
    case 0: return "OK";
    case ENXIO: return "ENXIO";
    case EREMOTEIO: return "EREMOTEIO";
    case EIO: return "EIO";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EPROTO: return "EPROTO";
    case EINVAL: return "EINVAL";
    default: return "ERROR";
    }
}

static size_t append_hex(char *out, size_t pos, size_t cap, const uint8_t *bytes, size_t n, bool any)
{
    static const char digits[] = "0123456789ABCDEF";
    if (!any || n == 0) {
        if (pos + 1 < cap)
            out[pos++] = '-';
        return pos;
    }
    size_t shown = n > LOG_HEX_BYTES ? LOG_HEX_BYTES : n;
    for (size_t i = 0; i < shown && pos + 2 < cap; i++) {
        out[pos++] = digits[bytes[i] >> 4];
        out[pos++] = digits[bytes[i] & 15];
    }
    if (shown < n && pos + 3 < cap) {
        memcpy(out + pos, "...", 3);
        pos += 3;
    }
    return pos;
}

/* Appends one transaction line to the log file, if configured. Caller holds the lock. */
static void log_transaction(const char *kind, unsigned addr, const uint8_t *w, size_t wlen, bool has_w,
                            const uint8_t *r, size_t rlen, bool has_r, int err)
{
    if (cfg.log_path[0] == '\0')
        return;
    char line[2 * (2 * LOG_HEX_BYTES + 8) + 64];
    size_t cap = sizeof line;
    int head = snprintf(line, cap, "%s 0x%02x ", kind, addr);
    size_t pos = head > 0 ? (size_t)head : 0;
    pos = append_hex(line, pos, cap, w, wlen, has_w);
    line[pos++] = ' ';
    pos = append_hex(line, pos, cap, r, rlen, has_r && err == 0);
    int tail = snprintf(line + pos, cap - pos, " %s\n", errno_name(err));
    pos += tail > 0 ? (size_t)tail : 0;

    int saved = errno;
    int fd = real.open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t ignored = real.write(fd, line, pos);
        (void)ignored;
        real.close(fd);
    }
    errno = saved;
}

/* The line answering `key` at addr: exact WRITE match, else the '-' line, else NULL. */
static const struct map_line *lookup(unsigned addr, const struct key *key)
{
    const struct map_line *fallback = NULL;
    for (int i = 0; i < current_map.count; i++) {
        const struct map_line *l = &current_map.lines[i];
        if (l->addr != addr)
            continue;
        if (l->wlen == 0)
            fallback = l;
        if (!key->overlong && l->wlen == key->len && memcmp(l->w, key->bytes, key->len) == 0)
            return l;
    }
    return fallback;
}

/*
 * One bus segment at addr: an optional write of w[0..wlen), then an optional read
 * (after a repeated start) of rlen bytes into r. With recv_len the read is an SMBus
 * block read: the device's first byte is the count N (1..32) and N+1 bytes are stored
 * into r (which must hold I2C_SMBUS_BLOCK_MAX + 1 bytes). *got receives the number of
 * bytes read. Logs the segment. Returns 0 or an errno. Caller holds the lock and has
 * called refresh_map().
 */
static int segment(const char *kind, unsigned addr, const uint8_t *w, size_t wlen, bool has_w,
                   uint8_t *r, size_t rlen, bool has_r, bool recv_len, size_t *got)
{
    int err = 0;
    size_t n = 0;

    if (map_status != MAP_OK) {
        err = EIO;
    } else if (addr >= NUM_ADDRS || !current_map.present[addr]) {
        err = ENXIO;
    } else {
        struct key *key = &keys[addr];
        if (has_w) {
            struct key wkey = { .overlong = wlen > MAX_BYTES, .len = 0 };
            if (!wkey.overlong) {
                wkey.len = (uint8_t)wlen;
                if (wlen > 0)
                    memcpy(wkey.bytes, w, wlen);
            }
            const struct map_line *l = lookup(addr, &wkey);
            if (l != NULL && l->err != 0)
                err = l->err;
            else if (wlen > 0)
                *key = wkey;
        }
        if (err == 0 && has_r) {
            const struct map_line *l = lookup(addr, key);
            if (l != NULL && l->err != 0) {
                err = l->err;
            } else if (recv_len) {
                if (l == NULL || l->rlen == 0)
                    err = EIO;
                else if (l->r[0] == 0 || l->r[0] > I2C_SMBUS_BLOCK_MAX)
                    err = EPROTO;
                else if ((size_t)l->r[0] + 1 > l->rlen)
                    err = EIO;
                else
                    n = (size_t)l->r[0] + 1;
            } else if (rlen > 0) {
                if (l == NULL || rlen > l->rlen)
                    err = EIO;
                else
                    n = rlen;
            }
            if (err == 0 && n > 0)
                memcpy(r, l->r, n);
        }
    }

    log_transaction(kind, addr, w, wlen, has_w, r, n, has_r, err);
    if (got != NULL)
        *got = err == 0 ? n : 0;
    return err;
}

/* ------------------------------------------------------------------------- */
/* open / close                                                              */

static bool is_fake_path(const char *path)
{
    if (path == NULL)
        return false;
    ensure_init();
    return strcmp(path, cfg.bus_path) == 0;
}

/* Creates a fake descriptor for the bus. Returns it, or -1 with errno set. */
static int fake_open(int flags)
{
    int cloexec = flags & O_CLOEXEC;
    int fd = real.open("/dev/null", O_RDWR | cloexec);
    if (fd < 0)
        fd = memfd_create("fake-i2c", cloexec ? MFD_CLOEXEC : 0);
    if (fd < 0)
        return -1;

    pthread_mutex_lock(&lock);
    refresh_map(); /* lazy first load; reports a bad map early */
    forget_locked(fd);
    int slot = -1;
    for (int i = 0; i < MAX_FAKE_FDS && slot < 0; i++)
        if (atomic_load(&slot_fd[i]) == 0)
            slot = i;
    if (slot >= 0) {
        slots[slot] = (struct fake_fd){ .addr = 0, .tenbit = false };
        atomic_store(&slot_fd[slot], fd + 1);
        atomic_fetch_add(&fake_count, 1);
    }
    pthread_mutex_unlock(&lock);

    if (slot < 0) {
        fprintf(stderr, "fake_i2c: more than %d fake descriptors open\n", MAX_FAKE_FDS);
        real.close(fd);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

static inline bool needs_mode(int flags)
{
    return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

static int passthrough_result(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        forget_if_stale(fd);
        errno = saved;
    }
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    return passthrough_result(real.open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    open_fn fn = real.open64 != NULL ? real.open64 : real.open;
    return passthrough_result(fn(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_fake_path(path)) /* absolute, so dirfd does not matter */
        return fake_open(flags);
    ensure_init();
    return passthrough_result(real.openat(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (needs_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    openat_fn fn = real.openat64 != NULL ? real.openat64 : real.openat;
    return passthrough_result(fn(dirfd, path, flags, mode));
}

/* _FORTIFY_SOURCE variants (glibc's fcntl2.h calls these for non-constant flags). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    if (real.open_2 == NULL)
        return passthrough_result(real.open(path, flags));
    return passthrough_result(real.open_2(path, flags));
}

int __open64_2(const char *path, int flags)
{
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    if (real.open64_2 == NULL)
        return passthrough_result(real.open(path, flags));
    return passthrough_result(real.open64_2(path, flags));
}

int __openat_2(int dirfd, const char *path, int flags)
{
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    if (real.openat_2 == NULL)
        return passthrough_result(real.openat(dirfd, path, flags));
    return passthrough_result(real.openat_2(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags)
{
    if (is_fake_path(path))
        return fake_open(flags);
    ensure_init();
    if (real.openat64_2 == NULL)
        return passthrough_result(real.openat(dirfd, path, flags));
    return passthrough_result(real.openat64_2(dirfd, path, flags));
}

int close(int fd)
{
    ensure_init();
    if (maybe_fake(fd)) {
        pthread_mutex_lock(&lock);
        forget_locked(fd);
        pthread_mutex_unlock(&lock);
    }
    return real.close(fd);
}

/* ------------------------------------------------------------------------- */
/* read / write                                                              */

/* Locks and returns the slot of a fake fd, or -1 (unlocked) if fd is not fake. */
static int lock_fake(int fd)
{
    if (!maybe_fake(fd))
        return -1;
    pthread_mutex_lock(&lock);
    int slot = find_slot(fd);
    if (slot < 0)
        pthread_mutex_unlock(&lock);
    return slot;
}

static ssize_t finish(ssize_t result, int err)
{
    pthread_mutex_unlock(&lock);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return result;
}

ssize_t read(int fd, void *buf, size_t count)
{
    ensure_init();
    int slot = lock_fake(fd);
    if (slot < 0)
        return real.read(fd, buf, count);
    if (count > 0 && buf == NULL)
        return finish(-1, EFAULT);
    if (count > KERNEL_MAX_XFER)
        count = KERNEL_MAX_XFER;
    refresh_map();
    size_t got = 0;
    int err = segment("read", slots[slot].addr, NULL, 0, false, buf, count, true, false, &got);
    return finish((ssize_t)got, err);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    ensure_init();
    if (!maybe_fake(fd) && real.read_chk != NULL)
        return real.read_chk(fd, buf, count, buflen);
    if (count > buflen) {
        fprintf(stderr, "fake_i2c: __read_chk: buffer overflow detected\n");
        abort();
    }
    return read(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count)
{
    ensure_init();
    int slot = lock_fake(fd);
    if (slot < 0)
        return real.write(fd, buf, count);
    if (count > 0 && buf == NULL)
        return finish(-1, EFAULT);
    if (count > KERNEL_MAX_XFER)
        count = KERNEL_MAX_XFER;
    refresh_map();
    int err = segment("write", slots[slot].addr, buf, count, true, NULL, 0, false, false, NULL);
    return finish((ssize_t)count, err);
}

/* ------------------------------------------------------------------------- */
/* ioctl                                                                     */

static int do_rdwr(struct i2c_rdwr_ioctl_data *data)
{
    if (data == NULL)
        return -EFAULT;
    if (data->nmsgs == 0 || data->nmsgs > I2C_RDWR_IOCTL_MAX_MSGS)
        return -EINVAL;
    if (data->msgs == NULL)
        return -EFAULT;
    for (uint32_t i = 0; i < data->nmsgs; i++) {
        const struct i2c_msg *m = &data->msgs[i];
        if (m->len > KERNEL_MAX_XFER)
            return -EINVAL;
        if (m->len > 0 && m->buf == NULL)
            return -EFAULT;
        if (m->flags & I2C_M_RECV_LEN)
            return -EOPNOTSUPP;
    }

    refresh_map();
    for (uint32_t i = 0; i < data->nmsgs;) {
        struct i2c_msg *m = &data->msgs[i];
        struct i2c_msg *next = i + 1 < data->nmsgs ? &data->msgs[i + 1] : NULL;
        int err;
        if (!(m->flags & I2C_M_RD) && next != NULL && (next->flags & I2C_M_RD) && next->addr == m->addr) {
            err = segment("rdwr", m->addr, m->buf, m->len, true, next->buf, next->len, true, false, NULL);
            i += 2;
        } else if (m->flags & I2C_M_RD) {
            err = segment("rdwr", m->addr, NULL, 0, false, m->buf, m->len, true, false, NULL);
            i += 1;
        } else {
            err = segment("rdwr", m->addr, m->buf, m->len, true, NULL, 0, false, false, NULL);
            i += 1;
        }
        if (err != 0)
            return -err;
    }
    return (int)data->nmsgs;
}

/* Runs an SMBus transfer the way the kernel's i2c_smbus_xfer_emulated() would put it
 * on the wire. Returns 0 or -errno. */
static int do_smbus(const struct fake_fd *f, struct i2c_smbus_ioctl_data *arg)
{
    if (arg == NULL)
        return -EFAULT;
    uint8_t rw = arg->read_write, cmd = arg->command;
    uint32_t size = arg->size;
    union i2c_smbus_data *data = arg->data;

    switch (size) {
    case I2C_SMBUS_QUICK: case I2C_SMBUS_BYTE: case I2C_SMBUS_BYTE_DATA:
    case I2C_SMBUS_WORD_DATA: case I2C_SMBUS_PROC_CALL: case I2C_SMBUS_BLOCK_DATA:
    case I2C_SMBUS_I2C_BLOCK_BROKEN: case I2C_SMBUS_I2C_BLOCK_DATA: case I2C_SMBUS_BLOCK_PROC_CALL:
        break;
    default:
        return -EINVAL;
    }
    if (rw != I2C_SMBUS_READ && rw != I2C_SMBUS_WRITE)
        return -EINVAL;
    if (data == NULL && !(size == I2C_SMBUS_QUICK || (size == I2C_SMBUS_BYTE && rw == I2C_SMBUS_WRITE)))
        return -EINVAL;
    if (size == I2C_SMBUS_I2C_BLOCK_BROKEN) {
        size = I2C_SMBUS_I2C_BLOCK_DATA;
        if (rw == I2C_SMBUS_READ)
            data->block[0] = I2C_SMBUS_BLOCK_MAX;
    }

    const bool read = rw == I2C_SMBUS_READ;
    uint8_t w[I2C_SMBUS_BLOCK_MAX + 3] = { cmd };
    size_t wlen = 1;                 /* most transfers start by writing the command */
    bool has_w = true, has_r = false, recv_len = false;
    uint8_t r[I2C_SMBUS_BLOCK_MAX + 2];
    size_t rlen = 0;
    size_t block = 0;

    switch (size) {
    case I2C_SMBUS_QUICK:            /* address only, R/W bit from read_write */
        wlen = 0;
        has_w = !read;
        has_r = read;
        break;
    case I2C_SMBUS_BYTE:             /* receive byte / send byte (the command) */
        has_w = !read;
        has_r = read;
        rlen = 1;
        break;
    case I2C_SMBUS_BYTE_DATA:
        if (read) {
            has_r = true;
            rlen = 1;
        } else {
            w[wlen++] = data->byte;
        }
        break;
    case I2C_SMBUS_WORD_DATA:
    case I2C_SMBUS_PROC_CALL:
        if (!read || size == I2C_SMBUS_PROC_CALL) {
            w[wlen++] = (uint8_t)(data->word & 0xff);
            w[wlen++] = (uint8_t)(data->word >> 8);
        }
        if (read || size == I2C_SMBUS_PROC_CALL) {
            has_r = true;
            rlen = 2;
        }
        break;
    case I2C_SMBUS_BLOCK_DATA:
    case I2C_SMBUS_BLOCK_PROC_CALL:
        if (!read || size == I2C_SMBUS_BLOCK_PROC_CALL) {
            block = data->block[0];
            if (block == 0 || block > I2C_SMBUS_BLOCK_MAX)
                return -EINVAL;
            memcpy(w + wlen, data->block, block + 1); /* count byte, then data */
            wlen += block + 1;
        }
        if (read || size == I2C_SMBUS_BLOCK_PROC_CALL) {
            has_r = true;
            recv_len = true;
        }
        break;
    case I2C_SMBUS_I2C_BLOCK_DATA:
        block = data->block[0];
        if (block == 0 || block > I2C_SMBUS_BLOCK_MAX)
            return -EINVAL;
        if (read) {
            has_r = true;
            rlen = block;
        } else {
            memcpy(w + wlen, data->block + 1, block);
            wlen += block;
        }
        break;
    }

    size_t got = 0;
    int err = segment("smbus", f->addr, w, wlen, has_w, r, rlen, has_r, recv_len, &got);
    if (err != 0)
        return -err;
    if (!has_r)
        return 0;

    switch (size) {
    case I2C_SMBUS_BYTE:
    case I2C_SMBUS_BYTE_DATA:
        data->byte = r[0];
        break;
    case I2C_SMBUS_WORD_DATA:
    case I2C_SMBUS_PROC_CALL:
        data->word = (uint16_t)(r[0] | r[1] << 8); /* SMBus words are little-endian */
        break;
    case I2C_SMBUS_BLOCK_DATA:
    case I2C_SMBUS_BLOCK_PROC_CALL:
        memcpy(data->block, r, got);               /* block[0] = count */
        break;
    case I2C_SMBUS_I2C_BLOCK_DATA:
        memcpy(data->block + 1, r, got);           /* block[0] keeps the length */
        break;
    }
    return 0;
}

/* ioctl(2) is variadic; the third argument is an unsigned long or a pointer, and is
 * forwarded to libc as a pointer-sized value. */
int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);

    ensure_init();
    int slot = lock_fake(fd);
    if (slot < 0)
        return real.ioctl(fd, request, arg);

    struct fake_fd *f = &slots[slot];
    unsigned long value = (unsigned long)(uintptr_t)arg;
    int rc = 0; /* >= 0: result; < 0: -errno */

    switch (request) {
    case I2C_SLAVE:
    case I2C_SLAVE_FORCE:
        if (value > 0x3ff || (!f->tenbit && value > 0x7f))
            rc = -EINVAL;
        else
            f->addr = (uint16_t)value;
        break;
    case I2C_TENBIT:
        f->tenbit = value != 0;
        break;
    case I2C_PEC:
    case I2C_RETRIES:
    case I2C_TIMEOUT:
        break;
    case I2C_FUNCS:
        if (arg == NULL)
            rc = -EFAULT;
        else
            *(unsigned long *)arg = FAKE_FUNCS;
        break;
    case I2C_RDWR:
        rc = do_rdwr(arg);
        break;
    case I2C_SMBUS:
        refresh_map();
        rc = do_smbus(f, arg);
        break;
    default:
        rc = -ENOTTY;
        break;
    }
    return (int)finish(rc < 0 ? -1 : rc, rc < 0 ? -rc : 0);
}
