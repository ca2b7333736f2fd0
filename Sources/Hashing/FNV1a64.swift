/// 64-bit FNV-1a over bytes fed one at a time: stable seeds from names and keys, the same on
/// every machine. Used for view seeds (Imaging) and the demo datasets' image streams
/// (SyntheticShapes).
public struct FNV1a64 {
    /// The hash of the bytes fed so far (the offset basis before any).
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func feed(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { feed(byte) }
    }

    /// The 8 bytes of `x`, least significant first.
    public mutating func feedLittleEndian(_ x: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { feed(UInt8(truncatingIfNeeded: x >> UInt64(shift))) }
    }
}
