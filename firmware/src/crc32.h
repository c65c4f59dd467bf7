/* CRC-32/ISO-HDLC (zlib, PNG): reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF. */
#ifndef EQ_CRC32_H
#define EQ_CRC32_H
#include <stddef.h>
#include <stdint.h>
uint32_t eq_crc32(const uint8_t *data, size_t length);
#endif
