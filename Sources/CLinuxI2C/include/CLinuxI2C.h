#ifndef OCCUPANT_CLINUXI2C_H
#define OCCUPANT_CLINUXI2C_H

#include <stddef.h>
#include <stdint.h>

/// Opens /dev/i2c-N read-write. Returns a file descriptor, or -1 with errno set.
int occupant_i2c_open(int bus);

/// Closes a descriptor from occupant_i2c_open.
void occupant_i2c_close(int fd);

/// Selects the 7-bit slave address (I2C_SLAVE). Returns 0, or -1 with errno set.
int occupant_i2c_set_address(int fd, uint16_t address);

/// Writes `length` bytes then reads `readLength` bytes in one combined transaction (I2C_RDWR, repeated start).
/// Either length may be zero. Returns 0, or -1 with errno set. EINTR is retried.
int occupant_i2c_transfer(int fd, uint16_t address,
                          const uint8_t *write, size_t writeLength,
                          uint8_t *read, size_t readLength);

/// Plain write (for command-then-read devices such as the SHT31). Returns 0 or -1 with errno set. EINTR retried.
int occupant_i2c_write(int fd, uint16_t address, const uint8_t *data, size_t length);

/// Plain read. Returns 0 or -1 with errno set. EINTR retried.
int occupant_i2c_read(int fd, uint16_t address, uint8_t *data, size_t length);

/// SMBus "read byte data" through libi2c: returns 0..255 or -1 with errno set.
int occupant_i2c_smbus_read_byte_data(int fd, uint8_t command);

#endif
