/// GPT-2 / CLIP byte-level alphabet (`bytes_to_unicode` in simple_tokenizer.py): every byte is shown as
/// one printable Unicode scalar so BPE can work on strings. Used by `BPETokenizer` to encode and decode.
///
/// Bytes 33–126, 161–172 and 174–255 map to themselves; the other 68 bytes, in ascending order, map
/// to U+0100, U+0101, … (so space → "Ġ" U+0120, byte 0 → "Ā" U+0100). `scalars` is in *mapping order*
/// (the printable bytes first, then the remapped ones), which is the order of vocabulary ids 0–255.
enum ByteLevelAlphabet {
    /// [256] scalar shown for each byte value.
    static let scalarOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        for (byte, scalar) in zip(bytesInMappingOrder, scalarsInMappingOrder) { table[Int(byte)] = scalar }
        return table
    }()

    /// [256] byte values in mapping order (vocabulary ids 0–255 are these bytes' scalars).
    static let bytesInMappingOrder: [UInt8] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let isPrintable = Set(printable)
        let rest = (0...255).filter { !isPrintable.contains($0) }
        return (printable + rest).map { UInt8($0) }
    }()

    /// [256] scalars in mapping order.
    static let scalarsInMappingOrder: [Unicode.Scalar] = {
        var next: UInt32 = 256
        return bytesInMappingOrder.map { byte -> Unicode.Scalar in
            let b = UInt32(byte)
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                return Unicode.Scalar(b)!
            }
            defer { next += 1 }
            return Unicode.Scalar(next)!
        }
    }()

    /// The byte a scalar stands for, or nil if the scalar is not in the alphabet (U+0000…U+0143 only).
    @inline(__always)
    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        guard v < byteOfScalarValue.count else { return nil }
        let b = byteOfScalarValue[v]
        return b < 0 ? nil : UInt8(b)
    }

    /// [324] inverse table indexed by scalar value; -1 where the scalar is not a byte character.
    private static let byteOfScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 256 + 68)
        for byte in 0..<256 { table[Int(scalarOfByte[byte].value)] = Int16(byte) }
        return table
    }()
}
