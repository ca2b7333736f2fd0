/// The element types a safetensors header may name (the format's full list), with their byte sizes.
/// `SafeTensorsFile` validates every tensor's byte size against it; only the floating-point ones
/// convert to a Float32 `Tensor`, the integer ones are read as arrays (token ids, BN counters).
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case u16 = "U16", i16 = "I16", f16 = "F16", bf16 = "BF16"
    case u32 = "U32", i32 = "I32", f32 = "F32"
    case u64 = "U64", i64 = "I64", f64 = "F64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .u16, .i16, .f16, .bf16: return 2
        case .u32, .i32, .f32: return 4
        case .u64, .i64, .f64: return 8
        }
    }

    /// True for the dtypes `SafeTensorsFile.tensor(_:)` converts to Float32.
    public var isReadableAsFloat: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}
