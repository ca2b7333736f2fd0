import Foundation

/// Store throughput in features/s and MB/s of stored values (`cocoon bench store`; release builds).
public struct StoreBenchmarkResult {
    public var count: Int
    public var dim: Int
    public var dtype: FeatureDType
    /// Bytes per stored value (16-byte header + payload).
    public var valueBytes: Int
    public var writeFeaturesPerSecond: Double
    public var writeMBPerSecond: Double
    /// Full scan into Float32 with checksum verification.
    public var scanFeaturesPerSecond: Double
    public var scanMBPerSecond: Double
    /// Full scan with checksums into the buffers of the previous scan (no fresh memory).
    public var rescanFeaturesPerSecond: Double
    /// The same, without checksum verification.
    public var rescanUncheckedFeaturesPerSecond: Double
    /// The same four rates per second of process CPU time (robust on a shared machine).
    public var writeFeaturesPerCPUSecond: Double
    public var scanFeaturesPerCPUSecond: Double
    public var rescanFeaturesPerCPUSecond: Double
    public var rescanUncheckedFeaturesPerCPUSecond: Double
    /// Size of data.mdb after writing, per feature.
    public var fileBytesPerFeature: Double
}

/// Writes `count` synthetic features of one view into a fresh temporary store through
/// `FeatureWriter` (batches of 1,024 items), then scans them back: into a fresh buffer, again
/// into the same buffer, and once more without checksum verification.
public enum StoreBenchmark {
    public static func run(count: Int = 100_000, dim: Int = 512, dtype: FeatureDType = .f16,
                           directory: String = NSTemporaryDirectory()) throws -> StoreBenchmarkResult {
        let path = (directory as NSString).appendingPathComponent("cocoon-bench-store-\(getpid())")
        try? FileManager.default.removeItem(atPath: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try FeatureStore(path: path, options: .init(create: true))
        let ext = try store.registerExtractor(ExtractorRecord(modelName: "bench", modelFingerprint: "bench",
                                                              architecture: "none", embedDim: dim, preprocessing: "none"))
        let items = (0..<count).map { ItemRecord(relativePath: "img/\($0).jpg", label: Int32($0 % 100), fileSize: 1000) }
        let ds = try store.registerDataset(name: "bench", classnames: (0..<100).map { "c\($0)" }, items: [.train: items]).id

        // [count % 64, dim] distinct rows; the writer encodes each one.
        var rows = [Float](repeating: 0, count: 64 * dim)
        for i in rows.indices { rows[i] = Float((i * 7919) % 2001 - 1000) / 1000 }
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuNanoseconds()
        do {  // the writer (and its indexer lock) ends here
            let writer = try FeatureWriter(store: store, ext: ext, ds: ds, split: .train, dtype: dtype, batchItems: 1024)
            try rows.withUnsafeBufferPointer { r in
                for i in 0..<count {
                    try writer.add(item: UInt32(i), features: UnsafeBufferPointer(rebasing: r[((i % 64) * dim)..<((i % 64 + 1) * dim)]))
                }
            }
            try writer.finish()
        }
        let t1 = DispatchTime.now().uptimeNanoseconds, c1 = cpuNanoseconds()
        var scan = try store.scan(ext: ext, ds: ds, split: .train)
        let t2 = DispatchTime.now().uptimeNanoseconds, c2 = cpuNanoseconds()
        try store.scan(ext: ext, ds: ds, split: .train, into: &scan)
        let t3 = DispatchTime.now().uptimeNanoseconds, c3 = cpuNanoseconds()
        try store.scan(ext: ext, ds: ds, split: .train, verifyChecksums: false, into: &scan)
        let t4 = DispatchTime.now().uptimeNanoseconds, c4 = cpuNanoseconds()
        guard scan.rows == count else {
            throw StoreError("\(path): benchmark scanned \(scan.rows) rows, wrote \(count)")
        }
        let valueBytes = FeatureValue.size(dim: dim, dtype: dtype)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? NSNumber)??.intValue ?? 0
        func rate(_ a: UInt64, _ b: UInt64) -> Double { Double(count) / (Double(b - a) / 1e9) }
        return StoreBenchmarkResult(count: count, dim: dim, dtype: dtype, valueBytes: valueBytes,
                                    writeFeaturesPerSecond: rate(t0, t1), writeMBPerSecond: rate(t0, t1) * Double(valueBytes) / 1e6,
                                    scanFeaturesPerSecond: rate(t1, t2), scanMBPerSecond: rate(t1, t2) * Double(valueBytes) / 1e6,
                                    rescanFeaturesPerSecond: rate(t2, t3), rescanUncheckedFeaturesPerSecond: rate(t3, t4),
                                    writeFeaturesPerCPUSecond: rate(c0, c1), scanFeaturesPerCPUSecond: rate(c1, c2),
                                    rescanFeaturesPerCPUSecond: rate(c2, c3), rescanUncheckedFeaturesPerCPUSecond: rate(c3, c4),
                                    fileBytesPerFeature: Double(fileBytes) / Double(count))
    }

    /// CPU time of the whole process (all threads), in nanoseconds.
    private static func cpuNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
