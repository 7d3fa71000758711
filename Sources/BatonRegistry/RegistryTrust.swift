import Glibc

/// A registry's own certificate authority, for a registry whose certificate the system's
/// roots do not vouch for (a company CA, a test registry): `$BATON_ROOT/certs.d/HOST[:PORT]/ca.crt`
/// (PEM), as Docker reads `/etc/docker/certs.d/HOST[:PORT]/ca.crt`, which is looked at second.
/// It is trusted for that registry only, beside the system's roots; the operator puts it there.
enum RegistryTrust {
    static func authorityFile(root: String, host: String) -> String? {
        [root + "/certs.d/" + host + "/ca.crt", "/etc/docker/certs.d/" + host + "/ca.crt"].first { access($0, R_OK) == 0 }
    }
}
