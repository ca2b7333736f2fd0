import CHashingSupport

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the SSE4.2 `crc32` instruction when the
/// CPU has it, else slicing-by-8 tables. The per-value checksum of the feature store: LMDB 0.9 has
/// no page checksums of its own.
public enum CRC32C {
    /// Whether `checksum` runs on the SSE4.2 instruction (checked once, with cpuid).
    public static let usesHardware = chs_crc32c_hardware_available() != 0

    private static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    /// Continues `crc` (0 for a fresh checksum) over `count` bytes.
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawPointer, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        usesHardware ? hardwareChecksum(bytes, count: count, continuing: crc)
                     : softwareChecksum(bytes, count: count, continuing: crc)
    }

    /// The SSE4.2 path; only valid when `usesHardware`.
    static func hardwareChecksum(_ bytes: UnsafeRawPointer, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        ~chs_crc32c_hardware(~crc, bytes, count)
    }

    /// The table-driven path (slicing-by-8), for CPUs without SSE4.2.
    static func softwareChecksum(_ bytes: UnsafeRawPointer, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        let p = bytes.assumingMemoryBound(to: UInt8.self)
        var c = ~crc
        var i = 0
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while count - i >= 8 {
                let lo = c ^ (UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16 | UInt32(p[i + 3]) << 24)
                let hi = UInt32(p[i + 4]) | UInt32(p[i + 5]) << 8 | UInt32(p[i + 6]) << 16 | UInt32(p[i + 7]) << 24
                c = t7[Int(lo & 0xff)] ^ t6[Int((lo >> 8) & 0xff)] ^ t5[Int((lo >> 16) & 0xff)] ^ t4[Int(lo >> 24)]
                  ^ t3[Int(hi & 0xff)] ^ t2[Int((hi >> 8) & 0xff)] ^ t1[Int((hi >> 16) & 0xff)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < count {
                c = (c >> 8) ^ t0[Int((c ^ UInt32(p[i])) & 0xff)]
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) }
    }
}
