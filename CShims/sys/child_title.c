// The sandbox init's command line, as `ps` and `pgrep -f` show it.
#include "child.h"

#include <fcntl.h>
#include <linux/prctl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Fields of /proc/self/stat PR_SET_MM_MAP needs again (proc(5) numbering).
enum { STAT_START_CODE = 26, STAT_END_CODE = 27, STAT_START_STACK = 28, STAT_START_DATA = 45,
       STAT_END_DATA = 46, STAT_START_BRK = 47, STAT_ENV_START = 50, STAT_ENV_END = 51, STAT_FIELDS = 52 };

// Reads the numeric fields of /proc/self/stat into `fields` (by proc(5) number; 1-3 left 0).
static int read_stat(unsigned long *fields) {
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    // The name (field 2) may hold spaces and parentheses: count from the last ')'.
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ') return -1;
    p += 4;
    for (int field = 4; field < STAT_FIELDS; field++) {
        unsigned long value = 0;
        int digits = 0;
        if (*p == '-') p++;
        while (*p >= '0' && *p <= '9') { value = value * 10 + (unsigned long)(*p++ - '0'); digits++; }
        if (!digits || (*p != ' ' && *p != '\n')) return -1;
        fields[field] = value;
        if (*p == ' ') p++;
    }
    return 0;
}

// The kernel shows /proc/PID/cmdline from the process's own memory between arg_start and
// arg_end; a clone's are the launcher's argv, as long as the daemon's command line happened to
// be (13 bytes for a bare `baton-daemon`). Like systemd's process renaming, point them at a
// buffer that holds the whole title rather than truncate it into the old area. PR_SET_MM_MAP
// (not PR_SET_MM_ARG_START, which needs CAP_SYS_RESOURCE in the host's user namespace, which
// this child has already left) takes every field at once, so the others are read back from
// /proc/self/stat and written unchanged. Where it fails (a kernel without
// CONFIG_CHECKPOINT_RESTORE), the title is cut to fit the old area instead.
void bt_child_set_title(const char *title, char *area, size_t area_len) {
    size_t length = strlen(title);
    if (area && length < area_len) {
        // It fits where the kernel already looks: no /proc read or prctl on every sandbox start.
        memset(area, 0, area_len);
        memcpy(area, title, length);
        return;
    }
    unsigned long fields[STAT_FIELDS] = {0};
    if (read_stat(fields) == 0) {
        struct prctl_mm_map map;
        memset(&map, 0, sizeof map);
        map.start_code = fields[STAT_START_CODE];
        map.end_code = fields[STAT_END_CODE];
        map.start_stack = fields[STAT_START_STACK];
        map.start_data = fields[STAT_START_DATA];
        map.end_data = fields[STAT_END_DATA];
        map.start_brk = fields[STAT_START_BRK];
        map.brk = (unsigned long)syscall(SYS_brk, 0);
        map.arg_start = (unsigned long)title;
        map.arg_end = (unsigned long)title + length + 1;
        map.env_start = fields[STAT_ENV_START];
        map.env_end = fields[STAT_ENV_END];
        map.exe_fd = (unsigned)-1;
        if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0) == 0) {
            // The old area stays in memory only: blank it so nothing there reads as argv.
            if (area) memset(area, 0, area_len);
            return;
        }
    }
    if (!area || !area_len) return;
    if (length >= area_len) length = area_len - 1;
    memset(area, 0, area_len);
    memcpy(area, title, length);
}
