/// A grow-only scratch buffer kept across calls, 64-byte aligned like a `Tensor`: at batch 32 an
/// im2col matrix reaches hundreds of megabytes, which freshly mapped memory would page-fault on
/// every call. `Float` buffers hold im2col matrices, `UInt16` ones a lane's BF16 activations (`BF16GEMM`).
public final class GrowableBuffer<Element> {
    private var storage: UnsafeMutablePointer<Element>?
    private var capacity = 0

    public init() {}
    deinit { storage?.deallocate() }

    /// At least `needed` elements, contents undefined (earlier contents are lost when it grows).
    public func pointer(capacity needed: Int) -> UnsafeMutablePointer<Element> {
        if let storage, capacity >= needed { return storage }
        storage?.deallocate()
        capacity = max(needed, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Element>.stride, alignment: 64)
        let grown = raw.bindMemory(to: Element.self, capacity: capacity)
        storage = grown
        return grown
    }
}
