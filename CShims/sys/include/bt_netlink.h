// rtnetlink requests for a sandbox's network: the host's bridge, a veth pair whose one end is
// created directly in the sandbox's network namespace, and, in the child, that end's address
// and default route. Raw netlink on stack buffers: the child half runs between clone and exec.
// Every function returns 0, or -1 with errno set (the kernel's answer to the request).
#ifndef BT_NETLINK_H
#define BT_NETLINK_H

#include <stdint.h>
#include <sys/types.h>

/// The ifindex of the link `name`, or -1 with errno set.
int bt_net_link_index(const char *name);

/// Creates the bridge `name` unless it exists. Returns its ifindex in `*ifindex`.
int bt_net_bridge_ensure(const char *name, int *ifindex);

/// Adds the IPv4 address `address`/`prefix` (network byte order) to the link `ifindex`;
/// already having it is not an error.
int bt_net_address_add(int ifindex, uint32_t address, int prefix);

/// Sets the hardware address of the link `ifindex` to the 6 bytes at `address`. For a bridge,
/// an address set this way is kept, where the kernel would otherwise move it to the lowest
/// address among its ports each time a port comes or goes.
int bt_net_link_set_address(int ifindex, const uint8_t address[6]);

/// Sets the link `ifindex` up.
int bt_net_link_up(int ifindex);

/// Creates the veth pair `host_name` (on the host, enslaved to `master_ifindex`, up) and
/// `peer_name`, created inside the network namespace of process `peer_pid`, both with `mtu`.
int bt_net_veth_create(const char *host_name, const char *peer_name, pid_t peer_pid, int master_ifindex, uint32_t mtu);

/// Makes the bridge port `name` isolated: it reaches the bridge itself (the host) but no
/// other isolated port, so one sandbox cannot talk to another over the bridge.
int bt_net_bridge_port_isolate(const char *name);

/// Deletes the link `name` (with its peer, for a veth); a missing link is not an error.
int bt_net_link_delete(const char *name);

/// In the caller's network namespace: gives the link `name` the address `address`/`prefix`,
/// sets it up and routes everything not local through `gateway` (all network byte order), with
/// a path MTU of `route_mtu` on that default route (0: the link's).
int bt_net_configure_interface(const char *name, uint32_t address, int prefix, uint32_t gateway, uint32_t route_mtu);

#endif
