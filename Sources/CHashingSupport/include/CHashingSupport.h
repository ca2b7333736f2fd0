// CHashingSupport: the SSE4.2 CRC-32C instruction for the Hashing target (the feature store
// checksums every value it reads; the table-driven Swift path is the fallback).
#ifndef CHASHINGSUPPORT_H
#define CHASHINGSUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU executes the SSE4.2 `crc32` instruction (x86-64 only), else 0.
int chs_crc32c_hardware_available(void);

/// Continues the raw (not inverted) CRC-32C register `state` over `count` bytes at `data` with
/// the `crc32` instruction; callers invert before and after, as the standard CRC-32C does.
/// Only call when `chs_crc32c_hardware_available()` returned 1.
uint32_t chs_crc32c_hardware(uint32_t state, const void *data, size_t count);

#ifdef __cplusplus
}
#endif
#endif
