#include "bt_nftables.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

// The few libnftables calls used, declared here so the build needs no libnftables-dev.
struct nft_ctx;
#define BT_NFT_CTX_DEFAULT 0

static struct {
    struct nft_ctx *(*ctx_new)(unsigned flags);
    void (*ctx_free)(struct nft_ctx *ctx);
    int (*buffer_output)(struct nft_ctx *ctx);
    int (*buffer_error)(struct nft_ctx *ctx);
    const char *(*get_error_buffer)(struct nft_ctx *ctx);
    const char *(*get_output_buffer)(struct nft_ctx *ctx);
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
    nft.get_output_buffer = dlsym(library, "nft_ctx_get_output_buffer");
    nft.run_cmd_from_buffer = dlsym(library, "nft_run_cmd_from_buffer");
    if (!nft.ctx_new || !nft.ctx_free || !nft.buffer_output || !nft.buffer_error || !nft.get_error_buffer ||
        !nft.get_output_buffer || !nft.run_cmd_from_buffer) {
        snprintf(load_error, sizeof load_error, "libnftables.so.1 lacks the functions Baton uses");
        nft.ctx_new = NULL;
    }
}

// libnftables waits on its netlink socket with select(2), and glibc aborts the whole process
// when that socket's number is FD_SETSIZE (1024) or above: a daemon holding a thousand client
// connections would die at its next sandbox start. The socket is opened with the context, so
// one context is made, the first time one is needed (the daemon's start, before it has
// clients), and kept, serialised by run_lock; a context that could not get a low number is
// refused with an error instead.
static struct nft_ctx *shared_ctx;

// The number the next descriptor would get, or -1.
static int lowest_free_descriptor(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return fd;
}

static struct nft_ctx *context(char *error, size_t error_size) {
    if (shared_ctx) return shared_ctx;
    int next = lowest_free_descriptor();
    // A margin: other threads may take a few numbers before libnftables takes its own.
    if (next < 0 || next >= FD_SETSIZE - 64) {
        snprintf(error, error_size,
                 "cannot start libnftables: descriptors below %d are in use (its netlink socket must be numbered below FD_SETSIZE, %d)",
                 FD_SETSIZE - 64, FD_SETSIZE);
        return NULL;
    }
    shared_ctx = nft.ctx_new(BT_NFT_CTX_DEFAULT);
    if (!shared_ctx) {
        snprintf(error, error_size, "nft_ctx_new failed");
        return NULL;
    }
    nft.buffer_output(shared_ctx);
    nft.buffer_error(shared_ctx);
    return shared_ctx;
}

int bt_nft_run(const char *commands, char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (!nft.ctx_new) {
        snprintf(error, error_size, "%s", load_error);
        return -1;
    }
    pthread_mutex_lock(&run_lock);
    int rc = -1;
    struct nft_ctx *ctx = context(error, error_size);
    if (ctx) {
        rc = nft.run_cmd_from_buffer(ctx, commands) == 0 ? 0 : -1;
        // Reading a buffer rewinds it: neither grows from run to run.
        const char *message = nft.get_error_buffer(ctx);
        (void)nft.get_output_buffer(ctx);
        if (rc < 0) snprintf(error, error_size, "%s", message && *message ? message : "nftables refused the ruleset");
    }
    pthread_mutex_unlock(&run_lock);
    return rc;
}
