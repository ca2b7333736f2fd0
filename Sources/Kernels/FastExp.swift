/// `exp` for Float as straight-line arithmetic the compiler vectorises inside loops (libm's `expf`
/// is a call per element: QuickGELU alone took 9% of a ViT-B/32 batch with it). Cody–Waite
/// reduction `x = n·ln2 + r` with |r| ≤ ln2/2, the classic degree-5 minimax polynomial for
/// `(eʳ − 1 − r)/r²`, and `2ⁿ` built in the exponent bits. Relative error ≤ 2·10⁻⁷ on
/// [−80, 88]. Below −80 the result is 0 (e⁻⁸⁰ ≈ 1.8·10⁻³⁵): softmax rows of peaked attention
/// otherwise fill with subnormals, which cost x86 about a hundred cycles per operation (that made
/// the ViT softmax run at 5 ns per element). Above 88 it is clamped; NaN stays NaN.
/// Used by the activations and the attention softmax.
public enum FastExp {
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let v = x < -80 ? -80 : (x > 88 ? 88 : x)
        // n = round(v·log2 e): adding 1.5·2²³ leaves n in the low mantissa bits
        let shifted = v * 1.442695040888963 + 12_582_912
        let n = shifted - 12_582_912
        let r = (v - n * 0.693359375) - n * -2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let mantissa = 1 + r + r * r * p
        let power = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) << 23)   // 2ⁿ
        return x < -80 ? 0 : mantissa * power
    }
}
