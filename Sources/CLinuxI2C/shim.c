// Thin wrappers over the Linux I2C character device and libi2c.
// The kernel structs and constants come from the kernel headers; none is re-typed in Swift.
#include "CLinuxI2C.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>

_Static_assert(sizeof(((struct i2c_msg *)0)->len) == 2, "i2c_msg.len is 16 bits");

int occupant_i2c_open(int bus) {
    char path[32];
    snprintf(path, sizeof(path), "/dev/i2c-%d", bus);
    int fd;
    do {
        fd = open(path, O_RDWR | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

void occupant_i2c_close(int fd) {
    if (fd >= 0) close(fd);
}

int occupant_i2c_set_address(int fd, uint16_t address) {
    int rc;
    do {
        rc = ioctl(fd, I2C_SLAVE, (unsigned long)address);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : 0;
}

int occupant_i2c_transfer(int fd, uint16_t address,
                          const uint8_t *write, size_t writeLength,
                          uint8_t *read, size_t readLength) {
    struct i2c_msg messages[2];
    int count = 0;
    if (writeLength > 0) {
        messages[count].addr = address;
        messages[count].flags = 0;
        messages[count].len = (uint16_t)writeLength;
        messages[count].buf = (uint8_t *)write;
        count++;
    }
    if (readLength > 0) {
        messages[count].addr = address;
        messages[count].flags = I2C_M_RD;
        messages[count].len = (uint16_t)readLength;
        messages[count].buf = read;
        count++;
    }
    if (count == 0) return 0;
    struct i2c_rdwr_ioctl_data data = { .msgs = messages, .nmsgs = (uint32_t)count };
    int rc;
    do {
        rc = ioctl(fd, I2C_RDWR, &data);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (rc != count) { errno = EIO; return -1; }
    return 0;
}

int occupant_i2c_write(int fd, uint16_t address, const uint8_t *data, size_t length) {
    if (occupant_i2c_set_address(fd, address) < 0) return -1;
    ssize_t n;
    do {
        n = write(fd, data, length);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n != length) { errno = EIO; return -1; }
    return 0;
}

int occupant_i2c_read(int fd, uint16_t address, uint8_t *data, size_t length) {
    if (occupant_i2c_set_address(fd, address) < 0) return -1;
    ssize_t n;
    do {
        n = read(fd, data, length);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n != length) { errno = EIO; return -1; }
    return 0;
}

int occupant_i2c_smbus_read_byte_data(int fd, uint8_t command) {
    int rc;
    do {
        errno = 0;
        rc = i2c_smbus_read_byte_data(fd, command);
    } while (rc < 0 && errno == EINTR);
    return rc;
}
