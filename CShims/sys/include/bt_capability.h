// libcap, for parsing capability names in the parent.
#ifndef BT_CAPABILITY_H
#define BT_CAPABILITY_H

/// The capability number for a name such as "cap_net_bind_service" or "NET_BIND_SERVICE",
/// or -1 when libcap does not know it.
int bt_cap_from_name(const char *name);
/// The highest capability number this kernel knows, from /proc/sys/kernel/cap_last_cap.
int bt_cap_last_cap(void);

#endif
