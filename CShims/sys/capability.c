#include "bt_capability.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

int bt_cap_from_name(const char *name) {
    char lowered[64] = "cap_";
    size_t offset = strncasecmp(name, "cap_", 4) == 0 ? 0 : 4;
    size_t n = strlen(name);
    if (n + offset >= sizeof lowered) return -1;
    for (size_t i = 0; i < n; i++) lowered[offset + i] = (char)tolower((unsigned char)name[i]);
    lowered[offset + n] = 0;
    cap_value_t value;
    if (cap_from_name(lowered, &value) < 0) return -1;
    return (int)value;
}

int bt_cap_last_cap(void) {
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int last = CAP_LAST_CAP;
    if (f) {
        if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
        fclose(f);
    }
    return last;
}
