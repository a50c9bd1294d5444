/*
 * check.c - self-check for libfake_i2c.so. Run it through check.sh, which builds the
 * library and this program, writes BASE_MAP (`check --print-map`) to a temp file and
 * runs `check` with LD_PRELOAD, OCCUPANT_FAKE_I2C_MAP and OCCUPANT_FAKE_I2C_LOG set.
 *
 * Build: cc -std=c11 -Wall -Wextra -O2 -o check check.c -li2c -lpthread
 * Exit status: 0 if every check passed, 1 otherwise.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <i2c/smbus.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>

/* check.sh writes exactly this map before starting the program. */
#define BASE_MAP                                                    \
    "# fake_i2c self-check map\n"                                   \
    "0x44 2400 BEEF92BEEF92   # SHT3x-style command + 6 bytes\n"    \
    "0x20 -    FE             # plain read\n"                       \
    "0x48 00   1234           # register 00\n"                      \
    "0x48 01   7F             # register 01 (byte data)\n"          \
    "0x48 02   3412           # register 02 (word 0x1234, LE)\n"    \
    "0x49 05   0411223344     # SMBus block: count 4 + data\n"      \
    "0x50 -    NACK\n"                                              \
    "0x51 00   EIO\n"                                               \
    "0x52 00   TIMEOUT\n"                                           \
    "0x53 00   AA\n"                                                \
    "0x53 -    NACK           # NACK unless the write is 00\n"

static int failures;
static int passes;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok)
        passes++;
    else
        failures++;
}

static const char *map_path;

/* Replaces the map atomically (temp file + rename), as tests should. */
static void replace_map(const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", map_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, map_path) != 0) {
        perror("replace_map");
        exit(2);
    }
}

/* Rewrites the map in place (same inode). */
static void rewrite_map_in_place(const char *text)
{
    FILE *f = fopen(map_path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror("rewrite_map_in_place");
        exit(2);
    }
}

/* Combined write+read with I2C_RDWR. Returns the ioctl result, errno preserved. */
static int rdwr(int fd, uint16_t addr, const uint8_t *w, uint16_t wlen, uint8_t *r, uint16_t rlen)
{
    struct i2c_msg msgs[2];
    uint32_t n = 0;
    if (wlen > 0)
        msgs[n++] = (struct i2c_msg){ .addr = addr, .flags = 0, .len = wlen, .buf = (uint8_t *)w };
    if (rlen > 0)
        msgs[n++] = (struct i2c_msg){ .addr = addr, .flags = I2C_M_RD, .len = rlen, .buf = r };
    struct i2c_rdwr_ioctl_data data = { .msgs = msgs, .nmsgs = n };
    return ioctl(fd, I2C_RDWR, &data);
}

static const uint8_t CMD_2400[] = { 0x24, 0x00 };
static const uint8_t REG_00[] = { 0x00 };
static const uint8_t SHT_DATA[] = { 0xBE, 0xEF, 0x92, 0xBE, 0xEF, 0x92 };

/* Several threads doing combined transfers at once. */
static void *hammer(void *arg)
{
    int fd = *(int *)arg;
    long bad = 0;
    for (int i = 0; i < 500; i++) {
        uint8_t r[6] = { 0 };
        if (rdwr(fd, 0x44, CMD_2400, 2, r, 6) != 2 || memcmp(r, SHT_DATA, 6) != 0)
            bad++;
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-map") == 0) {
        fputs(BASE_MAP, stdout); /* check.sh writes the initial map with this */
        return 0;
    }
    map_path = getenv("OCCUPANT_FAKE_I2C_MAP");
    if (map_path == NULL) {
        fprintf(stderr, "OCCUPANT_FAKE_I2C_MAP is not set; run check.sh\n");
        return 2;
    }

    /* --- open ------------------------------------------------------------ */
    errno = 0;
    int other = open("/dev/i2c-7", O_RDWR);
    check(other < 0 && errno == ENOENT, "open(/dev/i2c-7) passes through and fails with ENOENT (errno %d)", errno);

    int fd = open("/dev/i2c-1", O_RDWR | O_CLOEXEC);
    check(fd >= 0, "open(/dev/i2c-1) succeeds (fd %d)", fd);
    if (fd < 0)
        return 1;

    unsigned long funcs = 0;
    int rc = ioctl(fd, I2C_FUNCS, &funcs);
    check(rc == 0 && funcs == (I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL), "I2C_FUNCS = 0x%lx", funcs);

    /* --- I2C_RDWR -------------------------------------------------------- */
    uint8_t r[16];
    memset(r, 0, sizeof r);
    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 6);
    check(rc == 2 && memcmp(r, SHT_DATA, 6) == 0, "I2C_RDWR 0x44 write 2400 + read 6 -> BEEF92BEEF92 (rc %d)", rc);

    memset(r, 0, sizeof r);
    rc = rdwr(fd, 0x48, REG_00, 1, r, 2);
    check(rc == 2 && r[0] == 0x12 && r[1] == 0x34, "I2C_RDWR 0x48 write 00 + read 2 -> 1234 (rc %d)", rc);

    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 7);
    check(rc < 0 && errno == EIO, "I2C_RDWR read longer than the map entry fails with EIO (errno %d)", errno);

    /* --- write() + read() ------------------------------------------------ */
    rc = ioctl(fd, I2C_SLAVE, 0x44UL);
    check(rc == 0, "I2C_SLAVE 0x44");
    ssize_t n = write(fd, CMD_2400, 2);
    check(n == 2, "write(24 00) to 0x44 returns 2 (got %zd)", n);
    memset(r, 0, sizeof r);
    n = read(fd, r, 6);
    check(n == 6 && memcmp(r, SHT_DATA, 6) == 0, "read(6) after the write -> BEEF92BEEF92 (got %zd)", n);
    memset(r, 0, sizeof r);
    n = read(fd, r, 3);
    check(n == 3 && r[0] == 0xBE && r[1] == 0xEF && r[2] == 0x92, "shorter read(3) returns the first 3 bytes");
    n = read(fd, r, 7);
    check(n < 0 && errno == EIO, "longer read(7) fails with EIO (errno %d)", errno);

    n = write(fd, (const uint8_t[]){ 0x99, 0x99 }, 2);
    check(n == 2, "write of an unmapped command to a present chip succeeds");
    n = read(fd, r, 1);
    check(n < 0 && errno == EIO, "read after an unmapped write (no '-' line) fails with EIO (errno %d)", errno);

    rc = ioctl(fd, I2C_SLAVE, 0x20UL);
    memset(r, 0, sizeof r);
    n = read(fd, r, 1);
    check(rc == 0 && n == 1 && r[0] == 0xFE, "plain read from 0x20 ('-' line) -> FE");
    n = write(fd, (const uint8_t[]){ 0xFF }, 1);
    r[0] = 0;
    ssize_t n2 = read(fd, r, 1);
    check(n == 1 && n2 == 1 && r[0] == 0xFE, "read after an unmapped write falls back to the '-' line");

    rc = ioctl(fd, I2C_SLAVE, 0x80UL);
    check(rc < 0 && errno == EINVAL, "I2C_SLAVE 0x80 (not 7-bit) fails with EINVAL");

    /* --- libi2c (its ioctl call goes through the PLT, so the preload sees it) --- */
    rc = ioctl(fd, I2C_SLAVE, 0x48UL);
    int32_t v = i2c_smbus_read_byte_data(fd, 0x01);
    check(rc == 0 && v == 0x7F, "libi2c i2c_smbus_read_byte_data(0x48, 0x01) = 0x7F (got %d)", v);
    v = i2c_smbus_read_word_data(fd, 0x02);
    check(v == 0x1234, "libi2c i2c_smbus_read_word_data(0x48, 0x02) = 0x1234, little-endian (got 0x%x)", (unsigned)v);
    v = i2c_smbus_read_byte_data(fd, 0x00);
    check(v == 0x12, "libi2c read_byte_data(0x00) returns the first byte of 1234 (got 0x%x)", (unsigned)v);
    v = i2c_smbus_write_byte_data(fd, 0x01, 0x55);
    check(v == 0, "libi2c i2c_smbus_write_byte_data(0x48, 0x01, 0x55) succeeds (got %d)", v);
    v = i2c_smbus_read_byte_data(fd, 0x07);
    check(v == -EIO, "libi2c read_byte_data of an unmapped register -> -EIO (got %d)", v);
    rc = ioctl(fd, I2C_SLAVE, 0x49UL);
    uint8_t block[I2C_SMBUS_BLOCK_MAX];
    v = i2c_smbus_read_block_data(fd, 0x05, block);
    check(v == 4 && block[0] == 0x11 && block[3] == 0x44, "libi2c i2c_smbus_read_block_data -> 4 bytes 11223344 (got %d)", v);
    v = i2c_smbus_read_i2c_block_data(fd, 0x05, 3, block);
    check(v == 3 && block[0] == 0x04 && block[2] == 0x22, "libi2c i2c_smbus_read_i2c_block_data(3) -> 041122 (got %d)", v);

    /* --- NACK / EIO / TIMEOUT / absent --------------------------------------- */
    rc = rdwr(fd, 0x50, REG_00, 1, r, 1);
    check(rc < 0 && errno == EREMOTEIO, "NACK line: I2C_RDWR to 0x50 fails with EREMOTEIO (errno %d)", errno);
    ioctl(fd, I2C_SLAVE, 0x50UL);
    n = write(fd, REG_00, 1);
    check(n < 0 && errno == EREMOTEIO, "NACK line: write() to 0x50 fails with EREMOTEIO (errno %d)", errno);
    v = i2c_smbus_read_byte_data(fd, 0x00);
    check(v == -EREMOTEIO, "NACK line: libi2c read_byte_data at 0x50 -> -EREMOTEIO (got %d)", v);

    rc = rdwr(fd, 0x51, REG_00, 1, r, 1);
    check(rc < 0 && errno == EIO, "EIO line: I2C_RDWR to 0x51 fails with EIO (errno %d)", errno);
    rc = rdwr(fd, 0x52, REG_00, 1, r, 1);
    check(rc < 0 && errno == ETIMEDOUT, "TIMEOUT line: I2C_RDWR to 0x52 fails with ETIMEDOUT (errno %d)", errno);

    rc = rdwr(fd, 0x53, REG_00, 1, r, 1);
    check(rc == 2 && r[0] == 0xAA, "0x53: the exact line 00 wins over the '-' NACK line");
    rc = rdwr(fd, 0x53, (const uint8_t[]){ 0x01 }, 1, r, 1);
    check(rc < 0 && errno == EREMOTEIO, "0x53: any other write falls back to the '-' NACK line (errno %d)", errno);

    rc = rdwr(fd, 0x60, REG_00, 1, r, 1);
    check(rc < 0 && errno == ENXIO, "absent address 0x60: I2C_RDWR fails with ENXIO (errno %d)", errno);
    ioctl(fd, I2C_SLAVE, 0x60UL);
    n = read(fd, r, 1);
    check(n < 0 && errno == ENXIO, "absent address 0x60: read() fails with ENXIO (errno %d)", errno);
    v = i2c_smbus_read_byte_data(fd, 0x00);
    check(v == -ENXIO, "absent address 0x60: libi2c read_byte_data -> -ENXIO (got %d)", v);

    rc = ioctl(fd, 0x1234, 0);
    check(rc < 0 && errno == ENOTTY, "unknown ioctl on the fake fd fails with ENOTTY (errno %d)", errno);

    /* --- other open forms ------------------------------------------------------ */
    int fd2 = openat(AT_FDCWD, "/dev/i2c-1", O_RDWR);
    memset(r, 0, sizeof r);
    rc = fd2 >= 0 ? rdwr(fd2, 0x48, REG_00, 1, r, 2) : -1;
    check(fd2 >= 0 && rc == 2 && r[0] == 0x12, "openat(AT_FDCWD, /dev/i2c-1) is faked too");
    if (fd2 >= 0)
        close(fd2);

    /* --- threads ---------------------------------------------------------------- */
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, hammer, &fd);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(threads[i], &res);
        bad += (long)res;
    }
    check(bad == 0, "4 threads x 500 concurrent I2C_RDWR transfers all correct (%ld bad)", bad);

    /* --- map edits at run time -------------------------------------------------- */
    char text[4096];
    snprintf(text, sizeof text, "%s", BASE_MAP);
    memcpy(strstr(text, "BEEF92BEEF92"), "CAFE01CAFE01", 12);
    replace_map(text);
    memset(r, 0, sizeof r);
    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 6);
    check(rc == 2 && r[0] == 0xCA && r[1] == 0xFE && r[2] == 0x01, "map replaced (rename) at run time: 0x44 2400 now reads CAFE01...");

    rewrite_map_in_place("0x44 2400 0A0B\n");
    memset(r, 0, sizeof r);
    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 2);
    check(rc == 2 && r[0] == 0x0A && r[1] == 0x0B, "map rewritten in place at run time: 0x44 2400 now reads 0A0B");
    rc = rdwr(fd, 0x48, REG_00, 1, r, 2);
    check(rc < 0 && errno == ENXIO, "0x48 removed from the map is now absent (ENXIO)");

    fprintf(stderr, "check: an invalid-map message is expected next:\n");
    replace_map("0x44 24 0 BEEF\n");
    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 2);
    check(rc < 0 && errno == EIO, "invalid map: every transaction fails with EIO (errno %d)", errno);
    replace_map(BASE_MAP);
    memset(r, 0, sizeof r);
    rc = rdwr(fd, 0x44, CMD_2400, 2, r, 6);
    check(rc == 2 && memcmp(r, SHT_DATA, 6) == 0, "map fixed again: transactions work again");

    /* --- close --------------------------------------------------------------- */
    check(close(fd) == 0, "close(fake fd) succeeds");
    int nul = open("/dev/null", O_RDWR); /* most likely reuses the same number */
    rc = ioctl(nul, I2C_FUNCS, &funcs);
    check(rc < 0 && errno == ENOTTY, "after close, fd %d (reused: %s) is a real fd again: I2C_FUNCS -> ENOTTY",
          nul, nul == fd ? "yes" : "no");
    close(nul);

    printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
