// A TCP measuring stick for scripts/bench-egress, built static so it runs in a busybox root:
//   netbench serve ADDR PORT              sink for "T" connections, echo for "L" connections
//   netbench throughput ADDR PORT SECONDS prints MB/s sent
//   netbench latency ADDR PORT ROUNDS     prints the median round trip of one byte, in µs
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in address(const char *host, const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "netbench: bad address %s\n", host); exit(2); }
    return a;
}

static void *serve_one(void *arg) {
    int fd = (int)(long)arg;
    char kind;
    if (read(fd, &kind, 1) == 1) {
        static char buffer[1 << 16];
        if (kind == 'T') {
            while (read(fd, buffer, sizeof buffer) > 0) {}
        } else {
            char byte;
            while (read(fd, &byte, 1) == 1 && write(fd, &byte, 1) == 1) {}
        }
    }
    close(fd);
    return NULL;
}

static int connect_to(const char *host, const char *port, char kind) {
    struct sockaddr_in a = address(host, port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("netbench: connect"); exit(1); }
    if (write(fd, &kind, 1) != 1) exit(1);
    return fd;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: netbench serve|throughput|latency ADDR PORT [N]\n"); return 2; }
    if (!strcmp(argv[1], "serve")) {
        struct sockaddr_in a = address(argv[2], argv[3]);
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0) { perror("netbench: listen"); return 1; }
        for (;;) {
            int client = accept(fd, NULL, NULL);
            if (client < 0) continue;
            setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            pthread_t thread;
            pthread_create(&thread, NULL, serve_one, (void *)(long)client);
            pthread_detach(thread);
        }
    }
    if (argc < 5) return 2;
    if (!strcmp(argv[1], "throughput")) {
        int fd = connect_to(argv[2], argv[3], 'T');
        static char buffer[1 << 16];
        memset(buffer, 'x', sizeof buffer);
        double seconds = atof(argv[4]), start = now(), sent = 0;
        while (now() - start < seconds) {
            ssize_t n = write(fd, buffer, sizeof buffer);
            if (n <= 0) break;
            sent += n;
        }
        printf("%.1f\n", sent / (now() - start) / 1e6);
        close(fd);
        return 0;
    }
    if (!strcmp(argv[1], "latency")) {
        int fd = connect_to(argv[2], argv[3], 'L'), rounds = atoi(argv[4]);
        double *times = calloc((size_t)rounds, sizeof *times);
        char byte = 'p';
        for (int i = 0; i < rounds; i++) {
            double start = now();
            if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1) { fprintf(stderr, "netbench: echo failed\n"); return 1; }
            times[i] = (now() - start) * 1e6;
        }
        qsort(times, (size_t)rounds, sizeof *times, compare);
        printf("%.1f\n", times[rounds / 2]);
        close(fd);
        return 0;
    }
    return 2;
}
