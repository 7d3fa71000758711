#include "bt_nftables.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// The few libnftables calls used, declared here so the build needs no libnftables-dev.
struct nft_ctx;
#define BT_NFT_CTX_DEFAULT 0

static struct {
    struct nft_ctx *(*ctx_new)(unsigned flags);
    void (*ctx_free)(struct nft_ctx *ctx);
    int (*buffer_output)(struct nft_ctx *ctx);
    int (*buffer_error)(struct nft_ctx *ctx);
    const char *(*get_error_buffer)(struct nft_ctx *ctx);
    int (*run_cmd_from_buffer)(struct nft_ctx *ctx, const char *buf);
} nft;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

static void load(void) {
    void *library = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(load_error, sizeof load_error, "cannot load libnftables.so.1 (%s): run scripts/setup, or apt-get install nftables", dlerror());
        return;
    }
    nft.ctx_new = dlsym(library, "nft_ctx_new");
    nft.ctx_free = dlsym(library, "nft_ctx_free");
    nft.buffer_output = dlsym(library, "nft_ctx_buffer_output");
    nft.buffer_error = dlsym(library, "nft_ctx_buffer_error");
    nft.get_error_buffer = dlsym(library, "nft_ctx_get_error_buffer");
    nft.run_cmd_from_buffer = dlsym(library, "nft_run_cmd_from_buffer");
    if (!nft.ctx_new || !nft.ctx_free || !nft.buffer_output || !nft.buffer_error || !nft.get_error_buffer ||
        !nft.run_cmd_from_buffer) {
        snprintf(load_error, sizeof load_error, "libnftables.so.1 lacks the functions Baton uses");
        nft.ctx_new = NULL;
    }
}

int bt_nft_run(const char *commands, char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (!nft.ctx_new) {
        snprintf(error, error_size, "%s", load_error);
        return -1;
    }
    // One context per run: libnftables contexts are not for sharing between threads, and
    // making one is cheap next to the netlink exchange.
    pthread_mutex_lock(&run_lock);
    struct nft_ctx *ctx = nft.ctx_new(BT_NFT_CTX_DEFAULT);
    int rc = -1;
    if (ctx) {
        nft.buffer_output(ctx);
        nft.buffer_error(ctx);
        rc = nft.run_cmd_from_buffer(ctx, commands) == 0 ? 0 : -1;
        if (rc < 0) {
            const char *message = nft.get_error_buffer(ctx);
            snprintf(error, error_size, "%s", message && *message ? message : "nftables refused the ruleset");
        }
        nft.ctx_free(ctx);
    } else {
        snprintf(error, error_size, "nft_ctx_new failed");
    }
    pthread_mutex_unlock(&run_lock);
    return rc;
}
