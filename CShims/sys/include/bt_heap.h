// The process's malloc heap, as glibc counts it (mallinfo2, which Swift's Glibc module does
// not export).
#ifndef BT_HEAP_H
#define BT_HEAP_H

#include <malloc.h>
#include <stddef.h>

/// Bytes malloc has handed out and not had back, over every arena (mallinfo2's uordblks).
static inline size_t bt_heap_bytes_in_use(void) {
    return mallinfo2().uordblks;
}

#endif
