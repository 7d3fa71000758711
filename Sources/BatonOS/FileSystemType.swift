import CShims

/// What kind of file system a descriptor is on, from statfs(2)'s magic number.
public enum FileSystemType {
    static let tmpfsMagic: Int64 = 0x0102_1994

    /// Whether `fd` is on a tmpfs; false when it cannot be told.
    public static func isTmpfs(_ fd: Int32) -> Bool {
        var type: Int64 = 0
        return bt_fs_type(fd, &type) == 0 && type == tmpfsMagic
    }
}
