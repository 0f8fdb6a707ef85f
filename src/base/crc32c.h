/*
 * crc32c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum
 * of every WAL record. Uses the SSE4.2 crc32 instruction when the CPU has it
 * (checked once at run time), else an 8-table software loop; both give the
 * same value. crc32c(0, "123456789", 9) == 0xE3069283.
 */
#ifndef FLOE_CRC32C_H
#define FLOE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 to start; the result can be passed back in. */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

#endif
