/// The store schema version: the ONE place the code reads it from. `cache-schema/VERSION` holds
/// the same number (a test keeps the two equal); `cache-schema/SCHEMA.md` documents the layout.
public enum StoreSchema {
    /// Schema version this build reads and writes. A store recording another version is refused.
    public static let version = 2
    /// Version byte at the start of every feature key (`feat`, `failures`, `jobs`).
    static let keyVersion: UInt8 = 2
    static let valueVersion: UInt8 = 1
    /// Program name and version written into the meta record of stores this build creates.
    public static let creator = "cocoon 0.1.0"
}
