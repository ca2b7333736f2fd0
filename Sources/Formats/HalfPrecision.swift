/// Float32 <-> IEEE binary16 (F16) and <-> bfloat16 (BF16) conversion, one value or a buffer at a
/// time: the one codec of the safetensors reader/writer (half-precision checkpoints) and the
/// feature store (features kept as f16). Narrowing rounds to nearest, ties to even; NaN stays a
/// (quiet) NaN. Widening is exact and branch-free, so decode loops vectorise on baseline x86-64
/// (no F16C, where Swift's `Float16` calls a runtime function per element).
/// Buffers of 16-bit values are raw bytes in little-endian order and may be unaligned (mmap'ed
/// files, LMDB values).
public enum HalfPrecision {
    // MARK: F16

    /// The F16 bit pattern nearest to `value` (ties to even; the same as `Float16(value).bitPattern`);
    /// overflow gives ±infinity.
    @inlinable @inline(__always)
    public static func f16Bits(_ value: Float) -> UInt16 {
        var bits = value.bitPattern
        let sign = bits & 0x8000_0000
        bits ^= sign                                            // |value|
        let half: UInt32
        if bits >= 0x4780_0000 {                                // |value| >= 65536 (2^16), Inf or NaN
            if bits > 0x7f80_0000 { half = 0x7e00 }             // NaN -> quiet NaN
            else { half = 0x7c00 }                              // too large -> Inf
        } else if bits < 0x3880_0000 {                          // |value| < 2^-14: F16 subnormal or zero
            // Adding 0.5 aligns the F16 subnormal grid (step 2^-24) with the float's last mantissa bit,
            // so the FPU's own round-to-nearest-even does the rounding.
            let aligned = Float(bitPattern: bits) + 0.5
            half = aligned.bitPattern &- 0x3f00_0000
        } else {                                                // normal F16 range
            let mantissaOdd = (bits >> 13) & 1
            // Rebias the exponent (127 -> 15), add the rounding bias 0xfff plus the tie-breaking odd bit;
            // a carry out of the mantissa correctly bumps the exponent (65520 ≤ |value| < 65536 becomes Inf).
            let rounded = bits &- 0x3800_0000 &+ 0x0fff &+ mantissaOdd
            half = rounded >> 13
        }
        return UInt16(truncatingIfNeeded: half | (sign >> 16))
    }

    /// The Float32 value of an F16 bit pattern (exact), branch-free: shift exponent and mantissa
    /// into place, rescale by 2^112 (which also normalises subnormals exactly), force the exponent
    /// of inf/NaN to all ones, then attach the sign.
    @inlinable @inline(__always)
    public static func float(f16Bits h: UInt16) -> Float {
        let magnitude = UInt32(h & 0x7fff) << 13
        let scaled = Float(bitPattern: magnitude) * Float(bitPattern: 0x7780_0000)  // × 2^112
        let infNaN: UInt32 = magnitude >= 0x0f80_0000 ? 0x7f80_0000 : 0
        return Float(bitPattern: scaled.bitPattern | infNaN | UInt32(h & 0x8000) << 16)
    }

    // MARK: BF16

    /// The BF16 bit pattern nearest to `value` (ties to even); NaN gives a quiet NaN of the same sign.
    @inlinable @inline(__always)
    public static func bf16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounded = bits &+ 0x7fff &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// The Float32 value of a BF16 bit pattern (exact).
    @inlinable @inline(__always)
    public static func float(bf16Bits b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    // MARK: Buffers
    // Wrapping offsets (`&*`): `count` bounds them, and checked ones keep these hot loops from
    // vectorising (store rescans measured 30% slower).

    /// Decodes `count` little-endian F16 values starting at `source` (any alignment) into `destination`.
    public static func decodeF16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(f16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)))
        }
    }

    /// Decodes `count` little-endian BF16 values starting at `source` (any alignment) into `destination`.
    public static func decodeBF16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(bf16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)))
        }
    }

    /// Encodes `count` floats as little-endian F16 (round to nearest even) at `destination` (any alignment).
    public static func encodeF16(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<count {
            destination.storeBytes(of: f16Bits(source[i]).littleEndian, toByteOffset: 2 &* i, as: UInt16.self)
        }
    }

    /// Encodes `count` floats as little-endian BF16 (round to nearest even) at `destination` (any alignment).
    public static func encodeBF16(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<count {
            destination.storeBytes(of: bf16Bits(source[i]).littleEndian, toByteOffset: 2 &* i, as: UInt16.self)
        }
    }
}
