// rtnetlink requests built on the stack: no allocation, no stdio, no locks, so the same code
// serves the parent and the child between clone and exec (bt_net_configure_interface).
#include "bt_netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct request {
    char buffer[1024];
    struct nlmsghdr *header;
};

static void begin(struct request *r, uint16_t type, uint16_t flags, const void *body, size_t size) {
    memset(r->buffer, 0, sizeof r->buffer);
    r->header = (struct nlmsghdr *)r->buffer;
    r->header->nlmsg_type = type;
    r->header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    r->header->nlmsg_seq = 1;
    r->header->nlmsg_len = (uint32_t)NLMSG_LENGTH(size);
    memcpy(NLMSG_DATA(r->header), body, size);
}

/// Appends an attribute; returns it (for nesting), or NULL when the buffer is full.
static struct rtattr *attribute(struct request *r, uint16_t type, const void *data, size_t size) {
    size_t at = NLMSG_ALIGN(r->header->nlmsg_len);
    if (at + RTA_SPACE(size) > sizeof r->buffer) return NULL;
    struct rtattr *a = (struct rtattr *)(r->buffer + at);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(size);
    if (size) memcpy(RTA_DATA(a), data, size);
    r->header->nlmsg_len = (uint32_t)(at + RTA_SPACE(size));
    return a;
}

/// Closes a nested attribute opened with `attribute(r, type, NULL, 0)`.
static void end_nest(struct request *r, struct rtattr *nest) {
    nest->rta_len = (unsigned short)(r->buffer + r->header->nlmsg_len - (char *)nest);
}

/// Sends the request and waits for the kernel's acknowledgement.
static int exchange(struct request *r) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -1;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    int rc = -1;
    if (sendto(fd, r->buffer, r->header->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) goto out;
    for (;;) {
        char reply[1024];
        ssize_t n = recv(fd, reply, sizeof reply, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            goto out;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != NLMSG_ERROR) continue;
            int error = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            if (error == 0) { rc = 0; goto out; }
            errno = -error;
            goto out;
        }
    }
out:;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/// The link's index by name, through one ioctl (glibc's if_nametoindex is not meant for the
/// moments between clone and exec); 0 with errno set when there is none.
static unsigned index_of(const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    size_t length = strlen(name);
    if (length >= sizeof request.ifr_name) { errno = ENAMETOOLONG; return 0; }
    memcpy(request.ifr_name, name, length);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int rc = ioctl(fd, SIOCGIFINDEX, &request);
    int e = errno;
    close(fd);
    errno = e;
    return rc < 0 ? 0 : (unsigned)request.ifr_ifindex;
}

/// Begins a link request (`type` RTM_NEWLINK, RTM_SETLINK, RTM_DELLINK) on `ifindex` (0: a
/// new link), changing the `change` flags to `set`.
static void link_request(struct request *r, uint16_t type, uint16_t flags, unsigned char family, int ifindex, unsigned change,
                         unsigned set) {
    struct ifinfomsg info;
    memset(&info, 0, sizeof info);
    info.ifi_family = family;
    info.ifi_index = ifindex;
    info.ifi_change = change;
    info.ifi_flags = set;
    begin(r, type, flags, &info, sizeof info);
}

int bt_net_link_index(const char *name) {
    unsigned index = index_of(name);
    return index == 0 ? -1 : (int)index;
}

int bt_net_bridge_ensure(const char *name, int *ifindex) {
    unsigned existing = index_of(name);
    if (existing == 0) {
        struct request r;
        link_request(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, 0, 0);
        struct rtattr *kind = NULL, *linkinfo = NULL;
        if (!attribute(&r, IFLA_IFNAME, name, strlen(name) + 1) || !(linkinfo = attribute(&r, IFLA_LINKINFO, NULL, 0)) ||
            !(kind = attribute(&r, IFLA_INFO_KIND, "bridge", 7))) {
            errno = ENOBUFS;
            return -1;
        }
        end_nest(&r, linkinfo);
        if (exchange(&r) < 0 && errno != EEXIST) return -1;
        existing = index_of(name);
        if (existing == 0) return -1;
    }
    *ifindex = (int)existing;
    return 0;
}

int bt_net_address_add(int ifindex, uint32_t address, int prefix) {
    struct ifaddrmsg message;
    memset(&message, 0, sizeof message);
    message.ifa_family = AF_INET;
    message.ifa_prefixlen = (unsigned char)prefix;
    message.ifa_index = (unsigned)ifindex;
    struct request r;
    begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &message, sizeof message);
    if (!attribute(&r, IFA_LOCAL, &address, 4) || !attribute(&r, IFA_ADDRESS, &address, 4)) { errno = ENOBUFS; return -1; }
    if (exchange(&r) < 0 && errno != EEXIST) return -1;
    return 0;
}

int bt_net_link_set_address(int ifindex, const uint8_t address[6]) {
    struct request r;
    link_request(&r, RTM_NEWLINK, 0, AF_UNSPEC, ifindex, 0, 0);
    if (!attribute(&r, IFLA_ADDRESS, address, 6)) { errno = ENOBUFS; return -1; }
    return exchange(&r);
}

int bt_net_link_up(int ifindex) {
    struct request r;
    link_request(&r, RTM_NEWLINK, 0, AF_UNSPEC, ifindex, IFF_UP, IFF_UP);
    return exchange(&r);
}

int bt_net_veth_create(const char *host_name, const char *peer_name, pid_t peer_pid, int master_ifindex, uint32_t mtu) {
    struct request r;
    link_request(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, IFF_UP, IFF_UP);
    uint32_t master = (uint32_t)master_ifindex, pid = (uint32_t)peer_pid;
    struct rtattr *linkinfo, *data, *peer;
    if (!attribute(&r, IFLA_IFNAME, host_name, strlen(host_name) + 1) || !attribute(&r, IFLA_MASTER, &master, 4) ||
        !attribute(&r, IFLA_MTU, &mtu, 4) || !(linkinfo = attribute(&r, IFLA_LINKINFO, NULL, 0)) || !attribute(&r, IFLA_INFO_KIND, "veth", 5) ||
        !(data = attribute(&r, IFLA_INFO_DATA, NULL, 0))) {
        errno = ENOBUFS;
        return -1;
    }
    // The peer's own ifinfomsg, then its attributes, inside VETH_INFO_PEER.
    struct ifinfomsg peer_info;
    memset(&peer_info, 0, sizeof peer_info);
    peer_info.ifi_family = AF_UNSPEC;
    if (!(peer = attribute(&r, VETH_INFO_PEER, &peer_info, sizeof peer_info)) ||
        !attribute(&r, IFLA_IFNAME, peer_name, strlen(peer_name) + 1) || !attribute(&r, IFLA_NET_NS_PID, &pid, 4) ||
        !attribute(&r, IFLA_MTU, &mtu, 4)) {
        errno = ENOBUFS;
        return -1;
    }
    end_nest(&r, peer);
    end_nest(&r, data);
    end_nest(&r, linkinfo);
    return exchange(&r);
}

int bt_net_bridge_port_isolate(const char *name) {
    unsigned index = index_of(name);
    if (index == 0) return -1;
    struct request r;
    link_request(&r, RTM_SETLINK, 0, AF_BRIDGE, (int)index, 0, 0);
    uint8_t on = 1;
    struct rtattr *port = attribute(&r, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
    if (!port || !attribute(&r, IFLA_BRPORT_ISOLATED, &on, 1)) { errno = ENOBUFS; return -1; }
    end_nest(&r, port);
    return exchange(&r);
}

int bt_net_link_delete(const char *name) {
    unsigned index = index_of(name);
    if (index == 0) return 0;
    struct request r;
    link_request(&r, RTM_DELLINK, 0, AF_UNSPEC, (int)index, 0, 0);
    if (exchange(&r) < 0 && errno != ENODEV) return -1;
    return 0;
}

int bt_net_configure_interface(const char *name, uint32_t address, int prefix, uint32_t gateway, uint32_t route_mtu) {
    unsigned index = index_of(name);
    if (index == 0) return -1;
    if (bt_net_address_add((int)index, address, prefix) < 0 || bt_net_link_up((int)index) < 0) return -1;
    struct rtmsg route;
    memset(&route, 0, sizeof route);
    route.rtm_family = AF_INET;
    route.rtm_table = RT_TABLE_MAIN;
    route.rtm_protocol = RTPROT_BOOT;
    route.rtm_scope = RT_SCOPE_UNIVERSE;
    route.rtm_type = RTN_UNICAST;
    struct request r;
    begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &route, sizeof route);
    uint32_t oif = index;
    if (!attribute(&r, RTA_GATEWAY, &gateway, 4) || !attribute(&r, RTA_OIF, &oif, 4)) { errno = ENOBUFS; return -1; }
    if (route_mtu) {
        struct rtattr *metrics = attribute(&r, RTA_METRICS, NULL, 0);
        if (!metrics || !attribute(&r, RTAX_MTU, &route_mtu, 4)) { errno = ENOBUFS; return -1; }
        end_nest(&r, metrics);
    }
    return exchange(&r);
}
