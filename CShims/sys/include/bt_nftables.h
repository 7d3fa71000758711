// nftables rulesets through libnftables (Debian's nftables package), opened with dlopen on
// first use: nothing is forked per sandbox, and a `baton` that never touches the network
// never loads it.
#ifndef BT_NFTABLES_H
#define BT_NFTABLES_H

#include <stddef.h>

/// Runs `commands` (nft syntax, one transaction) in-process. Returns 0, or -1 with the
/// reason (libnftables' own message, or why the library could not be loaded) in `error`.
int bt_nft_run(const char *commands, char *error, size_t error_size);

#endif
